import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

@Suite struct IdempotencyStoreConformanceTests {
    @Test(arguments: TestBackend.available)
    func claimLifecycle(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let tenant = Tenant(id: .generate(), slug: "acme", name: "Acme", status: .active, settings: [:], createdAt: now, updatedAt: now)
            try await storage.store.insertTenant(tenant)
            let scope = TenantScope(credentialTenant: tenant.id)
            let store = storage.idempotency
            func claim(_ fingerprint: String, at offset: TimeInterval) async throws -> IdempotencyDecision {
                try await store.claimIdempotencyKey("k1", in: scope, fingerprint: fingerprint, now: now.addingTimeInterval(offset), lock: .seconds(60), ttl: .seconds(86_400))
            }
            #expect(try await claim("f", at: 0) == .proceed)
            #expect(try await claim("f", at: 1) == .inFlight)
            #expect(try await claim("g", at: 1) == .mismatch)
            #expect(try await claim("f", at: 61) == .proceed, "a lapsed claim (crashed request) can be taken over")
            try await store.releaseIdempotencyKey("k1", in: scope, fingerprint: "f")
            #expect(try await claim("f", at: 62) == .proceed)
            let response = StoredResponse(status: 200, contentType: "application/json", body: Array(#"{"ok":true}"#.utf8))
            try await store.completeIdempotencyKey("k1", in: scope, fingerprint: "f", response: response)
            #expect(try await claim("f", at: 63) == .replay(response))
            #expect(try await claim("g", at: 63) == .mismatch)
            try await store.releaseIdempotencyKey("k1", in: scope, fingerprint: "f")  // a completed key is not released
            #expect(try await claim("f", at: 64) == .replay(response))
            #expect(try await claim("g", at: 86_400 + 64) == .proceed, "an expired key is forgotten")
        }
    }

    @Test(arguments: TestBackend.available)
    func expiredKeysArePurgedInBatchesAndLiveOnesKept(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let tenant = Tenant(id: .generate(), slug: "acme", name: "Acme", status: .active, settings: [:], createdAt: now, updatedAt: now)
            try await storage.store.insertTenant(tenant)
            let scope = TenantScope(credentialTenant: tenant.id)
            let store = storage.idempotency
            for index in 0..<7 {  // expire at now + 100 s
                _ = try await store.claimIdempotencyKey("old-\(index)", in: scope, fingerprint: "f", now: now, lock: .seconds(60), ttl: .seconds(100))
            }
            _ = try await store.claimIdempotencyKey("live", in: scope, fingerprint: "f", now: now, lock: .seconds(60), ttl: .seconds(10_000))
            let later = now.addingTimeInterval(200)
            #expect(try await store.purgeExpiredIdempotencyKeys(now: later, limit: 5) == 5)
            #expect(try await store.purgeExpiredIdempotencyKeys(now: later, limit: 5) == 2)
            #expect(try await store.purgeExpiredIdempotencyKeys(now: later, limit: 5) == 0)
            // The live key is still remembered (another body under it is refused); a purged one can be claimed afresh.
            #expect(try await store.claimIdempotencyKey("live", in: scope, fingerprint: "other", now: later, lock: .seconds(60), ttl: .seconds(100)) == .mismatch)
            #expect(try await store.claimIdempotencyKey("old-0", in: scope, fingerprint: "other", now: later, lock: .seconds(60), ttl: .seconds(100)) == .proceed)
        }
    }

    @Test(arguments: TestBackend.available)
    func concurrentFirstClaimsHaveOneWinner(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let now = Date()
            let tenant = Tenant(id: .generate(), slug: "acme", name: "Acme", status: .active, settings: [:], createdAt: now, updatedAt: now)
            try await storage.store.insertTenant(tenant)
            let scope = TenantScope(credentialTenant: tenant.id)
            let store = storage.idempotency
            let decisions = try await withThrowingTaskGroup(of: IdempotencyDecision.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.claimIdempotencyKey("race", in: scope, fingerprint: "f", now: now, lock: .seconds(60), ttl: .seconds(3600)) }
                }
                return try await group.reduce(into: [IdempotencyDecision]()) { $0.append($1) }
            }
            #expect(decisions.filter { $0 == .proceed }.count == 1)
            #expect(decisions.filter { $0 == .inFlight }.count == 7)
        }
    }
}
