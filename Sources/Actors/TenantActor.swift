import Core
import Entitlements
import Metering
import Synchronization

/// One active tenant's hot metering state: its meter catalog and event-time policy, loaded on
/// first use and kept until a meter change makes the catalog stale (the ledger refuses an
/// append computed against an old catalog, which is when the actor reloads it) or, for the
/// policy, until `policyTTL` passes. Concurrent callers share one load.
public actor TenantActor {
    /// Loads what the actor caches; the directory supplies it.
    public struct Loader: Sendable {
        public var catalog: @Sendable (TenantScope) async throws -> MeterCatalog
        /// The rules the tenant's settings make: event-time policy and rate limits.
        public var policy: @Sendable (TenantID) async throws -> TenantPolicy
        /// The tenant's entitlements and their usage.
        public var quota: TenantQuota.Loader

        public init(
            catalog: @escaping @Sendable (TenantScope) async throws -> MeterCatalog,
            policy: @escaping @Sendable (TenantID) async throws -> TenantPolicy,
            quota: @escaping TenantQuota.Loader = { _, _ in QuotaBook() }
        ) {
            self.catalog = catalog
            self.policy = policy
            self.quota = quota
        }
    }

    /// What ingest needs to judge and read events.
    public struct Snapshot: Sendable, Equatable {
        public var catalog: MeterCatalog
        public var policy: EventTimePolicy
        public var rateLimits: TenantRateLimits
    }

    /// What a tenant's settings say, as loaded.
    public struct TenantPolicy: Sendable, Equatable {
        public var time: EventTimePolicy
        public var rateLimits: TenantRateLimits

        public init(time: EventTimePolicy, rateLimits: TenantRateLimits) {
            self.time = time
            self.rateLimits = rateLimits
        }

        public static let standard = TenantPolicy(time: .standard, rateLimits: TenantRateLimits())
    }

    public nonisolated let tenantID: TenantID
    /// The tenant's entitlements, checked and charged without a hop onto this actor.
    public nonisolated let quota: TenantQuota
    /// The last snapshot loaded, readable without a hop onto the actor: ingest reads it on every
    /// request, and only a miss (first use, a stale catalog, an expired policy) waits for the actor.
    private nonisolated let published = Mutex<(snapshot: Snapshot, policyLoadedAt: ContinuousClock.Instant)?>(nil)
    private let loader: Loader
    private nonisolated let policyTTL: Duration
    private var catalog: MeterCatalog?
    private var policy: (value: TenantPolicy, loadedAt: ContinuousClock.Instant)?
    private var catalogLoad: Task<MeterCatalog, any Error>?
    private var policyLoad: Task<TenantPolicy, any Error>?

    public init(tenantID: TenantID, loader: Loader, policyTTL: Duration, quota: TenantQuota) {
        self.tenantID = tenantID
        self.loader = loader
        self.policyTTL = policyTTL
        self.quota = quota
    }

    /// The published snapshot if it is current, without waiting for the actor.
    public nonisolated func cachedSnapshot(now: ContinuousClock.Instant = .now) -> Snapshot? {
        published.withLock { entry in
            guard let entry, now - entry.policyLoadedAt < policyTTL else { return nil }
            return entry.snapshot
        }
    }

    /// The cached catalog and policy, loading what is missing or stale.
    public nonisolated func snapshot() async throws -> Snapshot {
        if let cached = cachedSnapshot() { return cached }
        return try await load()
    }

    private func load() async throws -> Snapshot {
        let catalog = try await currentCatalog()
        let rules = try await currentPolicy()
        let snapshot = Snapshot(catalog: catalog, policy: rules.time, rateLimits: rules.rateLimits)
        if let loadedAt = policy?.loadedAt { published.withLock { $0 = (snapshot, loadedAt) } }
        return snapshot
    }

    /// Forgets the catalog if it is still `version` (a newer one may have been loaded meanwhile).
    public func catalogIsStale(version: Int64) {
        if catalog?.version == version { catalog = nil }
        published.withLock { entry in
            if entry?.snapshot.catalog.version == version { entry = nil }
        }
    }

    /// Forgets everything (after a local meter, tenant or entitlement change).
    public func invalidate() {
        catalog = nil
        policy = nil
        published.withLock { $0 = nil }
        quota.invalidate()
    }

    private func currentCatalog() async throws -> MeterCatalog {
        if let catalog { return catalog }
        if let catalogLoad { return try await catalogLoad.value }
        let load = Task { [loader, tenantID] in try await loader.catalog(TenantScope(credentialTenant: tenantID)) }
        catalogLoad = load
        defer { catalogLoad = nil }
        let loaded = try await load.value
        catalog = loaded
        return loaded
    }

    private func currentPolicy() async throws -> TenantPolicy {
        let now = ContinuousClock.now
        if let policy, now - policy.loadedAt < policyTTL { return policy.value }
        if let policyLoad { return try await policyLoad.value }
        let load = Task { [loader, tenantID] in try await loader.policy(tenantID) }
        policyLoad = load
        defer { policyLoad = nil }
        let loaded = try await load.value
        policy = (loaded, now)
        return loaded
    }
}
