import Core
import Entitlements
import Logging
import Metering
import Storage
import Synchronization

/// One tenant's entitlements in memory (a `QuotaBook`), answering checks and ingest charges
/// without I/O: the book sits behind a lock that callers take directly, and the actor only
/// loads it (when missing, when a period turns, and in the background every `refresh`) and,
/// across nodes, grows and renews the leases hard limits are spent from.
public actor TenantQuota {
    /// How hard limits are shared with other nodes.
    public struct Leasing: Sendable {
        public var store: any QuotaLeaseStore
        /// This process, as the lease store knows it.
        public var node: String
        /// Each lease asks for this percentage of the limit (at least what is needed), which
        /// is also how far several nodes together can overshoot a limit when one dies.
        public var blockPercent: Int
        /// How long a lease lives without renewal; renewed (and spend reported) well before.
        public var ttl: Duration

        public init(store: any QuotaLeaseStore, node: String, blockPercent: Int, ttl: Duration) {
            self.store = store
            self.node = node
            self.blockPercent = blockPercent
            self.ttl = ttl
        }
    }

    /// Loads the tenant's book as of a time (Unix seconds).
    public typealias Loader = @Sendable (TenantID, Int64) async throws -> QuotaBook

    struct State {
        var book: QuotaBook?
        var loadedAt: ContinuousClock.Instant?
        /// What this node booked while a reload was reading usage (`nil` when none runs).
        var bookedSince: [String: Quantity]?
    }

    public nonisolated let tenantID: TenantID
    private let loader: Loader
    private nonisolated let refresh: Duration
    public nonisolated let leasing: Leasing?
    private nonisolated let state = Mutex(State())
    private var loading: Task<Void, any Error>?
    /// Lease adjustments in flight, by feature.
    private var adjusting: [String: Task<Quantity, any Error>] = [:]
    private let logger: Logger

    public init(tenantID: TenantID, loader: @escaping Loader, refresh: Duration, leasing: Leasing?, logger: Logger) {
        self.tenantID = tenantID
        self.loader = loader
        self.refresh = refresh
        self.leasing = leasing
        self.logger = logger
    }

    // MARK: The book

    /// Runs `body` on the current book: at once when one is loaded for the current period
    /// (starting a background reload when it is older than `refresh`), else after loading it.
    public nonisolated func withBook<T: Sendable>(now: Int64, _ body: (inout QuotaBook) -> T) async throws -> T {
        for _ in 0..<3 {
            var stale = false
            let result = state.withLock { state -> T? in
                guard var book = state.book, let loadedAt = state.loadedAt, !book.isOutdated(now: now) else { return nil }
                stale = ContinuousClock.now - loadedAt >= refresh
                let result = body(&book)
                state.book = book
                return result
            }
            if let result {
                if stale { Task { try? await self.reload(now: now) } }
                return result
            }
            try await reload(now: now)
        }
        throw TallyError(.unavailable, "the tenant's entitlements are being reloaded; retry shortly")
    }

    /// Reloads the book (one load at a time; callers during a load wait for it).
    func reload(now: Int64) async throws {
        if let loading { return try await loading.value }
        let task = Task { [loader, tenantID] in
            state.withLock { $0.bookedSince = [:] }
            var fresh: QuotaBook
            do {
                fresh = try await loader(tenantID, now)
            } catch {
                state.withLock { $0.bookedSince = nil }
                throw error
            }
            let leased = leasing != nil
            state.withLock { state in
                if leased {
                    for (feature, line) in fresh.lines where line.spec.enforcement == .hard && line.window.resetsAt != nil {
                        fresh.lines[feature]?.lease = .zero
                    }
                }
                if let old = state.book { fresh.carryOver(from: old, bookedSince: state.bookedSince ?? [:]) }
                state.book = fresh
                state.loadedAt = .now
                state.bookedSince = nil
            }
        }
        loading = task
        defer { loading = nil }
        try await task.value
    }

    /// Makes the next use reload the book (after an entitlement change made through this node),
    /// keeping this node's own state to carry over.
    public nonisolated func invalidate() {
        state.withLock { $0.loadedAt = nil }
    }

    // MARK: Checks and charges

    /// The metered check for `feature`; `nil` when the tenant has no metered entitlement to it.
    public nonisolated func check(_ feature: String, amount: Quantity, now: Int64) async throws -> CheckResult? {
        try await withBook(now: now) { $0.check(feature, amount: amount, now: now) }
    }

    /// Checks and holds `amount` until `until`, growing the lease if needed.
    public nonisolated func reserve(_ feature: String, amount: Quantity, until: Int64, now: Int64) async throws -> QuotaBook.ChargeOutcome? {
        try await leasingRetries(feature: feature, now: now) { $0.reserve(feature, amount: amount, until: until, now: now) }
    }

    /// Charges each event's demands in order (`charged` or `refused`, never `needsLease`:
    /// leases are grown here). On a throw, whatever was charged is released.
    public nonisolated func charge(_ events: [[(feature: String, amount: Quantity)]], now: Int64) async throws -> [QuotaBook.ChargeOutcome] {
        var outcomes: [QuotaBook.ChargeOutcome] = []
        outcomes.reserveCapacity(events.count)
        do {
            for demands in events {
                if demands.isEmpty {
                    outcomes.append(.charged([]))
                } else {
                    outcomes.append(try await leasingRetries(feature: nil, now: now) { $0.charge(demands, now: now) }!)
                }
            }
        } catch {
            for case .charged(let charges) in outcomes { _ = settle(charges, booked: false) }
            throw error
        }
        return outcomes
    }

    /// Runs `attempt` on the book, growing the lease it asks for and trying again; an attempt
    /// becomes `refused` when the pool could not grow the lease by what it lacks. (Each round
    /// that does not refuse took quota from the pool, so the loop ends; the bound is a guard.)
    private nonisolated func leasingRetries(
        feature: String?, now: Int64, _ attempt: (inout QuotaBook) -> QuotaBook.ChargeOutcome?
    ) async throws -> QuotaBook.ChargeOutcome? {
        for _ in 0..<1_000 {
            let outcome = try await withBook(now: now, attempt)
            guard case .needsLease(let leased, let short)? = outcome else { return outcome }
            let grown = try await growLease(leased, need: short, now: now)
            if grown < short {
                return .refused(feature: leased, Self.exhausted(try await check(leased, amount: short, now: now)))
            }
        }
        throw TallyError(.unavailable, "quota leases are contended; retry shortly")
    }

    /// A check result for quota that other nodes hold: nothing remains here.
    static func exhausted(_ standing: CheckResult?) -> CheckResult {
        var result = standing ?? CheckResult(allowed: false, limit: .zero, used: .zero, remaining: .zero, overage: .zero, resetsAt: nil, drawdown: [])
        result.allowed = false
        result.remaining = .zero
        return result
    }

    /// Settles charges after the ledger answered; returns the thresholds booked usage crossed.
    public nonisolated func settle(_ charges: [QuotaBook.Charge], booked: Bool) -> [QuotaBook.ThresholdCrossing] {
        guard !charges.isEmpty else { return [] }
        return state.withLock { state in
            guard state.book != nil else { return [] }
            if booked, state.bookedSince != nil {
                for charge in charges { state.bookedSince![charge.feature, default: .zero] += charge.amount }
            }
            return state.book!.settle(charges, booked: booked)
        }
    }

    // MARK: Leases

    /// Grows the lease of `feature` by at least `need` if the pool has it, and returns the growth.
    /// One adjustment runs at a time per feature: callers during one share its result (and
    /// charge again; if others took the growth first, they come back for more).
    func growLease(_ feature: String, need: Quantity, now: Int64) async throws -> Quantity {
        if let running = adjusting[feature] { return try await running.value }
        let task = Task {
            defer { adjusting[feature] = nil }  // done: the next caller starts a new adjustment
            return try await adjust(feature, need: need, now: now)
        }
        adjusting[feature] = task
        return try await task.value
    }

    /// One round trip to the lease store for one line: report what was booked, keep what is
    /// held, and ask for `need` (rounded up to a block) more.
    private func adjust(_ feature: String, need: Quantity, now: Int64) async throws -> Quantity {
        guard let leasing else { return .zero }
        guard let line = state.withLock({ $0.book?.lines[feature] }), let balance = line.lease else { return .zero }
        // A lapsed balance is claimed again: the store grants it back only if no one took it.
        let keep = balance + line.pending
        let block = need > .zero ? max(need, line.total.multiplied(byPercent: leasing.blockPercent) ?? need) : .zero
        let key = QuotaLeaseKey(tenantID: tenantID, feature: feature, periodStart: line.window.start, periodEnd: line.window.end)
        let change: Quantity
        do {
            change = try await leasing.store.adjust(QuotaLeaseRequest(
                key: key, node: leasing.node, keep: keep, want: block, report: line.unreported, limit: line.total, seed: line.used, ttl: leasing.ttl
            ))
        } catch {
            logger.warning("quota lease unavailable", metadata: [LogKey.tenantID: "\(tenantID)", "feature": "\(feature)", "error": "\(error)"])
            throw TallyError(.unavailable, "quota leases are unavailable; retry after the Retry-After delay")
        }
        let validUntil = now + max(1, Int64(leasing.ttl.totalSeconds / 2))
        state.withLock { $0.book?.addLease(feature, amount: change, validUntil: validUntil, reported: line.unreported) }
        return change
    }

    /// Reports spend and renews every lease that has spend to report or is past half its life.
    public func renewLeases(now: Int64) async {
        guard leasing != nil else { return }
        let due = state.withLock { state in
            state.book?.lines.values.filter { $0.lease != nil && ($0.unreported > .zero || now >= $0.leaseValidUntil - 1) }.map(\.feature) ?? []
        }
        for feature in due {
            do {
                _ = try await adjust(feature, need: .zero, now: now)
            } catch {
                logger.debug("quota lease renewal failed", metadata: [LogKey.tenantID: "\(tenantID)", "feature": "\(feature)"])
            }
        }
    }

    /// Reports spend and gives every lease back (shutdown, eviction).
    public func releaseLeases() async {
        guard let leasing else { return }
        let lines = state.withLock { state -> [QuotaBook.Line] in
            let held = state.book?.lines.values.filter { $0.lease != nil } ?? []
            for line in held { state.book?.lines[line.feature]?.lease = .zero }
            return Array(held)
        }
        for line in lines {
            let key = QuotaLeaseKey(tenantID: tenantID, feature: line.feature, periodStart: line.window.start, periodEnd: line.window.end)
            do {
                try await leasing.store.release(QuotaLeaseRequest(key: key, node: leasing.node, report: line.unreported + line.pending))
                state.withLock { $0.book?.lines[line.feature]?.unreported = .zero }
            } catch {
                logger.warning("quota lease release failed; it will expire", metadata: [LogKey.tenantID: "\(tenantID)", "feature": "\(line.feature)"])
            }
        }
    }
}
