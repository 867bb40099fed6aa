import Actors
import Core
import Foundation
import Storage
import Testing

@Suite struct CredentialCacheTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func credential(tenant: TenantID?) -> StoredCredential {
        let id = APIKeyID.generate()
        let token = APIKeyToken.generate(keyID: id)
        let key = APIKey(id: id, tenantID: tenant, serviceIdentityID: nil, name: "k", displayPrefix: token.displayPrefix, digest: token.digest, scopes: [.keysRead], createdAt: now)
        return StoredCredential(key: key, tenantStatus: tenant == nil ? nil : .active)
    }

    @Test func entriesLiveForTheTTLOnly() {
        let cache = CredentialCache(ttl: .seconds(5))
        let entry = credential(tenant: .generate())
        cache.store(entry, now: now)
        #expect(cache.credential(for: entry.key.id, now: now.addingTimeInterval(4.9)) == entry)
        #expect(cache.credential(for: entry.key.id, now: now.addingTimeInterval(5)) == nil)
        #expect(cache.credential(for: entry.key.id, now: now) == nil, "an expired entry is dropped, not revived")
    }

    @Test func invalidationByKeyAndByTenant() {
        let cache = CredentialCache(ttl: .seconds(60))
        let tenant = TenantID.generate()
        let a = credential(tenant: tenant), b = credential(tenant: tenant), other = credential(tenant: .generate())
        for entry in [a, b, other] { cache.store(entry, now: now) }
        cache.invalidate(key: a.key.id)
        #expect(cache.credential(for: a.key.id, now: now) == nil)
        #expect(cache.credential(for: b.key.id, now: now) == b)
        cache.invalidate(tenant: tenant)
        #expect(cache.credential(for: b.key.id, now: now) == nil)
        #expect(cache.credential(for: other.key.id, now: now) == other)
    }

    @Test func zeroTTLCachesNothingAndCapacityBoundsMemory() {
        let off = CredentialCache(ttl: .zero)
        let entry = credential(tenant: nil)
        off.store(entry, now: now)
        #expect(off.credential(for: entry.key.id, now: now) == nil)

        let small = CredentialCache(ttl: .seconds(60), capacity: 3)
        let entries = (0..<4).map { _ in credential(tenant: nil) }
        for item in entries { small.store(item, now: now) }
        // The fourth store found the cache full and started over.
        #expect(small.credential(for: entries[3].key.id, now: now) == entries[3])
        #expect(entries[0..<3].allSatisfy { small.credential(for: $0.key.id, now: now) == nil })
    }
}
