import Core
import Storage
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Recently read credentials, so authentication costs a hash and a dictionary look-up instead
/// of a database round trip on every request.
///
/// A `Mutex` rather than an actor: it sits on every request's path and holds no await.
/// Changes made through this node (revocation, suspension) invalidate at once; changes made on
/// another node are seen within `ttl`.
public final class CredentialCache: Sendable {
    private struct Entry {
        var credential: StoredCredential
        var expires: Date
    }

    private let entries = Mutex<[APIKeyID: Entry]>([:])
    /// How long an entry is trusted; zero disables caching.
    public let ttl: Duration
    /// The most entries kept; past it the cache is cleared (a cheap, bounded policy).
    public let capacity: Int

    public init(ttl: Duration, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached credential if still fresh at `now`.
    public func credential(for id: APIKeyID, now: Date) -> StoredCredential? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard entry.expires > now else {
                entries[id] = nil
                return nil
            }
            return entry.credential
        }
    }

    /// Remembers a credential read at `now`.
    public func store(_ credential: StoredCredential, now: Date) {
        guard ttl > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[credential.key.id] = Entry(credential: credential, expires: now.addingTimeInterval(ttl.totalSeconds))
        }
    }

    /// Forgets one key.
    public func invalidate(key id: APIKeyID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Forgets every key of a tenant (after its status changed).
    public func invalidate(tenant id: TenantID) {
        entries.withLock { entries in
            entries = entries.filter { $0.value.credential.key.tenantID != id }
        }
    }

    /// Forgets everything.
    public func invalidateAll() {
        entries.withLock { $0.removeAll() }
    }
}
