#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A stored `Idempotency-Key` (IETF httpapi idempotency-key draft): who claimed it, for which
/// request, and the response once there is one.
public struct IdempotencyRecord: Sendable, Equatable {
    /// SHA-256 of method, path and body: what "the same request" means.
    public var fingerprint: String
    /// `nil` while the first request is still being processed.
    public var response: StoredResponse?
    /// While in flight: until when the claim holds (a crashed request's claim lapses then).
    public var lockedUntil: Date
    /// When the key is forgotten.
    public var expiresAt: Date

    public init(fingerprint: String, response: StoredResponse?, lockedUntil: Date, expiresAt: Date) {
        self.fingerprint = fingerprint
        self.response = response
        self.lockedUntil = lockedUntil
        self.expiresAt = expiresAt
    }
}

/// A response kept for replay.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// What to do with a request that carries an `Idempotency-Key`, pure.
public enum IdempotencyDecision: Sendable, Equatable {
    /// No live claim: claim the key and process the request.
    case proceed
    /// The same request finished before: send its response again.
    case replay(StoredResponse)
    /// The key was used for a different request: 422.
    case mismatch
    /// The first request with this key is still being processed: 409.
    case inFlight

    /// Decides from the stored record (if any) for a request with `fingerprint` at `now`.
    public static func decide(existing: IdempotencyRecord?, fingerprint: String, now: Date) -> IdempotencyDecision {
        guard let existing, existing.expiresAt > now else { return .proceed }
        guard existing.fingerprint == fingerprint else { return .mismatch }
        if let response = existing.response { return .replay(response) }
        return existing.lockedUntil > now ? .inFlight : .proceed
    }

    /// Whether a key is acceptable: 1-255 visible ASCII characters (a structured-field string's
    /// quotes are taken off first).
    public static func normalizedKey(_ header: String) -> String? {
        var key = Substring(header.trimmingWhitespace())
        if key.count >= 2, key.first == "\"", key.last == "\"" { key = key.dropFirst().dropLast() }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return String(key)
    }
}
