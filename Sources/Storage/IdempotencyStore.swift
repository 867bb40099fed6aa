import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Idempotency-Key records behind the driver protocol; both drivers pass the same conformance cases.
public protocol IdempotencyStore: Sendable {
    /// Atomically reads the key's record, decides, and on `proceed` claims the key for this
    /// request (in flight until `now + lock`, remembered until `now + ttl`).
    func claimIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, now: Date, lock: Duration, ttl: Duration) async throws -> IdempotencyDecision
    /// Stores the response of the request that holds the claim.
    func completeIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, response: StoredResponse) async throws
    /// Drops an unfinished claim (the request failed in a way a retry may fix).
    func releaseIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String) async throws
    /// Deletes up to `limit` records that expired before `now` (of any tenant) and says how many.
    func purgeExpiredIdempotencyKeys(now: Date, limit: Int) async throws -> Int
}
