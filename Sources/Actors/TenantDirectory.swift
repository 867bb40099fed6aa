import Core
import Logging
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Metering
import ServiceLifecycle
import Synchronization

/// The node's `TenantActor`s, created on demand and evicted when idle, and admission control
/// for ingest: in-flight request bytes and requests, per tenant and for the node, bounded by
/// `AdmissionLimits`. A request over its tenant's share is refused with 429, one over the
/// node's with 503, both before its body is read, so load beyond the limits costs no memory.
public final class TenantDirectory: Service, Sendable {
    private struct Entry {
        var actor: TenantActor
        var admitted = AdmissionLedger()
        var lastUsed: ContinuousClock.Instant
    }

    private struct State {
        var tenants: [TenantID: Entry] = [:]
        var total = AdmissionLedger()
    }

    private let state = Mutex(State())
    private let loader: TenantActor.Loader
    public let limits: AdmissionLimits
    private let idleAfter: Duration
    private let policyTTL: Duration
    private let quotaRefresh: Duration
    /// How hard limits are shared with other nodes (`nil`: this node alone enforces them).
    public let leasing: TenantQuota.Leasing?
    public let logger: Logger

    public init(
        loader: TenantActor.Loader, limits: AdmissionLimits = .defaults,
        idleAfter: Duration = .seconds(300), policyTTL: Duration = .seconds(5),
        quotaRefresh: Duration = .seconds(10), leasing: TenantQuota.Leasing? = nil, logger: Logger
    ) {
        self.loader = loader
        self.limits = limits
        self.idleAfter = idleAfter
        self.policyTTL = policyTTL
        self.quotaRefresh = quotaRefresh
        self.leasing = leasing
        self.logger = logger
    }

    /// The tenant's actor, created if it has none.
    public func actor(for tenant: TenantID) -> TenantActor {
        state.withLock { state in entry(tenant, in: &state).actor }
    }

    private func entry(_ tenant: TenantID, in state: inout State) -> Entry {
        let now = ContinuousClock.now
        if let slot = state.tenants.index(forKey: tenant) {  // one hash; the entry is touched in place
            state.tenants.values[slot].lastUsed = now
            return state.tenants.values[slot]
        }
        let quota = TenantQuota(tenantID: tenant, loader: loader.quota, refresh: quotaRefresh, leasing: leasing, logger: logger)
        let entry = Entry(actor: TenantActor(tenantID: tenant, loader: loader, policyTTL: policyTTL, quota: quota), lastUsed: now)
        state.tenants[tenant] = entry
        return entry
    }

    /// Runs `body` as admitted work of `bytes` for `tenant`, or throws `tenant_overloaded` (429)
    /// or `server_overloaded` (503) without running it.
    public func withAdmission<T>(_ tenant: TenantID, bytes: Int, _ body: () async throws -> T) async throws -> T {
        try admit(tenant, bytes: bytes)
        defer { release(tenant, bytes: bytes) }
        return try await body()
    }

    func admit(_ tenant: TenantID, bytes: Int) throws(TallyError) {
        let refusal = state.withLock { state -> TallyError? in
            var entry = entry(tenant, in: &state)
            guard entry.admitted.fits(bytes: bytes, maxBytes: limits.tenantBytes, maxRequests: limits.tenantRequests) else {
                return TallyError(.tenantOverloaded, "this tenant has too much ingest in flight; retry after the Retry-After delay")
            }
            guard state.total.fits(bytes: bytes, maxBytes: limits.totalBytes, maxRequests: limits.totalRequests) else {
                return TallyError(.serverOverloaded, "the server is at its ingest capacity; retry after the Retry-After delay")
            }
            entry.admitted.add(bytes: bytes)
            state.total.add(bytes: bytes)
            state.tenants[tenant] = entry
            return nil
        }
        if let refusal { throw refusal }
    }

    func release(_ tenant: TenantID, bytes: Int) {
        state.withLock { state in
            state.total.remove(bytes: bytes)
            state.tenants[tenant]?.admitted.remove(bytes: bytes)
        }
    }

    /// What is in flight now: for the node, and for `tenant`.
    public func inFlight(_ tenant: TenantID) -> (total: AdmissionLedger, tenant: AdmissionLedger) {
        state.withLock { ($0.total, $0.tenants[tenant]?.admitted ?? AdmissionLedger()) }
    }

    /// How many tenants have an actor in memory.
    public var activeTenants: Int { state.withLock { $0.tenants.count } }

    /// Forgets a tenant's cached state (after a meter or tenant change made through this node).
    public func invalidate(_ tenant: TenantID) async {
        guard let actor = state.withLock({ $0.tenants[tenant]?.actor }) else { return }
        await actor.invalidate()
    }

    /// Drops the actors of tenants with nothing in flight and no reservation held (at
    /// `wallSeconds`, Unix seconds) that were last used before `idleAfter` ago; returns them
    /// (their leases are still to be given back). A reservation outlives idleness: dropping the
    /// book would drop the promise it holds.
    public func evictIdle(now: ContinuousClock.Instant = .now, wallSeconds: Int64 = Int64(Date().timeIntervalSince1970)) -> [TenantActor] {
        state.withLock { state in
            let idle = state.tenants.filter {
                $0.value.admitted.isIdle && now - $0.value.lastUsed >= idleAfter && !$0.value.actor.quota.holdsReservations(at: wallSeconds)
            }
            for tenant in idle.keys { state.tenants[tenant] = nil }
            return idle.values.map(\.actor)
        }
    }

    /// Every actor in memory.
    public var actors: [TenantActor] { state.withLock { $0.tenants.values.map(\.actor) } }

    /// Until shutdown: evicts idle actors every minute (or `idleAfter`, if shorter) and, with
    /// leasing, renews leases every quarter of their lifetime. At shutdown, gives every lease back.
    public func run() async throws {
        let interval = min(idleAfter, .seconds(60), leasing.map { $0.ttl / 4 } ?? .seconds(60))
        var lastEviction = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            if leasing != nil {
                let now = Int64(Date().timeIntervalSince1970)
                for actor in actors { await actor.quota.renewLeases(now: now) }
            }
            if ContinuousClock.now - lastEviction >= min(idleAfter, .seconds(60)) {
                lastEviction = .now
                let evicted = evictIdle()
                for actor in evicted { await actor.quota.releaseLeases() }
                if !evicted.isEmpty { logger.debug("evicted idle tenant actors", metadata: ["tenants.evicted": "\(evicted.count)"]) }
            }
        }
        for actor in actors { await actor.quota.releaseLeases() }
    }
}

extension TallyError.Code {
    /// One tenant has more ingest in flight than its share.
    public static let tenantOverloaded = TallyError.Code("tenant_overloaded", status: 429, title: "Too many requests in flight")
    /// The node has as much ingest in flight as it takes.
    public static let serverOverloaded = TallyError.Code("server_overloaded", status: 503, title: "Server overloaded")
}
