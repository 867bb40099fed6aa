import Core
import Foundation
import Testing

@Suite struct IdempotencyDecisionTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let response = StoredResponse(status: 200, contentType: "application/json", body: Array("{}".utf8))

    func record(_ fingerprint: String = "f", response: StoredResponse? = nil, locked: TimeInterval = 60, expires: TimeInterval = 86_400) -> IdempotencyRecord {
        IdempotencyRecord(fingerprint: fingerprint, response: response, lockedUntil: now.addingTimeInterval(locked), expiresAt: now.addingTimeInterval(expires))
    }

    @Test func decisions() {
        #expect(IdempotencyDecision.decide(existing: nil, fingerprint: "f", now: now) == .proceed)
        #expect(IdempotencyDecision.decide(existing: record(response: response), fingerprint: "f", now: now) == .replay(response))
        #expect(IdempotencyDecision.decide(existing: record(response: response), fingerprint: "g", now: now) == .mismatch)
        #expect(IdempotencyDecision.decide(existing: record(), fingerprint: "f", now: now) == .inFlight)
        #expect(IdempotencyDecision.decide(existing: record(), fingerprint: "g", now: now) == .mismatch)
        // A crashed request's claim lapses; an expired key is forgotten.
        #expect(IdempotencyDecision.decide(existing: record(locked: -1), fingerprint: "f", now: now) == .proceed)
        #expect(IdempotencyDecision.decide(existing: record("g", response: response, expires: -1), fingerprint: "f", now: now) == .proceed)
    }

    @Test func keys() {
        #expect(IdempotencyDecision.normalizedKey("abc-123") == "abc-123")
        #expect(IdempotencyDecision.normalizedKey("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"") == "8e03978e-40d5-43e8-bc93-6894a57f9324")
        #expect(IdempotencyDecision.normalizedKey("") == nil)
        #expect(IdempotencyDecision.normalizedKey("has space") == nil)
        #expect(IdempotencyDecision.normalizedKey(String(repeating: "k", count: 256)) == nil)
    }
}
