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

        /// How `tally serve` leases with Redis configured (`nil` without it): the pools under
        /// the key prefix's `quota:`, this process's node identity, the settings' block and TTL.
        public init?(settings: Settings, redis: RedisClient?) {
            guard let redis else { return nil }
            self.init(
                store: RedisQuotaLeaseStore(redis: redis, prefix: settings.redisKeyPrefix + "quota:"), node: NodeIdentity.make(),
                blockPercent: settings.quotaLeaseBlockPercent, ttl: .seconds(settings.quotaLeaseTTLSeconds)
            )
        }

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
        /// Set while a reload drains charges in flight and reads usage: new charges wait, so the
        /// usage read counts every booking exactly once.
        var gated = false
        /// Corrections between `beginCorrection` and their end: their ledger commits may be in
        /// flight, so a reload waits for them as for charges.
        var corrections = 0
        /// Books installed by reloads so far: a correction that sees it change between its begin
        /// and its end had its usage read by a reload that gave up waiting for it.
        var generation = 0
        /// Callers waiting for the gate to open (charges) or for the charges in flight to settle
        /// (a reload), by ticket.
        var waiters: [Int: Waiter] = [:]
        var nextTicket = 0

        /// Whether `condition` holds now.
        func holds(_ condition: Condition) -> Bool {
            switch condition {
            case .gateOpen: !gated
            case .settled: corrections == 0 && (book?.lines.values.allSatisfy { $0.pending == .zero } ?? true)
            }
        }

        /// Takes the waiters whose condition holds now (to be resumed outside the lock).
        mutating func takeReady() -> [CheckedContinuation<Bool, Never>] {
            guard !waiters.isEmpty else { return [] }
            var ready: [CheckedContinuation<Bool, Never>] = []
            for (ticket, waiter) in waiters where holds(waiter.until) {
                waiters[ticket] = nil
                ready.append(waiter.continuation)
            }
            return ready
        }
    }

    /// What a waiter waits for.
    enum Condition {
        case gateOpen
        case settled
    }

    struct Waiter {
        let until: Condition
        let continuation: CheckedContinuation<Bool, Never>
    }

    public nonisolated let tenantID: TenantID
    private let loader: Loader
    private nonisolated let refresh: Duration
    public nonisolated let leasing: Leasing?
    private nonisolated let state = Mutex(State())
    private var loading: Task<Void, any Error>?
    /// Lease adjustments in flight, by feature, with the growth each asked for.
    private var adjusting: [String: (need: Quantity, task: Task<Quantity, any Error>)] = [:]
    private let logger: Logger

    /// How long a charge waits for a reload (then it is refused as `unavailable`), and a reload
    /// for charges in flight (then it reads usage anyway, and the view errs high).
    private nonisolated let gateTimeout: Duration

    public init(tenantID: TenantID, loader: @escaping Loader, refresh: Duration, leasing: Leasing?, logger: Logger, gateTimeout: Duration = .seconds(3)) {
        self.tenantID = tenantID
        self.gateTimeout = gateTimeout
        self.loader = loader
        self.refresh = refresh
        self.leasing = leasing
        self.logger = logger
    }

    // MARK: The book

    /// Runs `body` on the current book: at once when one is loaded for the current period
    /// (starting a background reload when it is older than `refresh`), else after loading it.
    /// `charging` callers also wait while a reload reads usage.
    public nonisolated func withBook<T: Sendable>(now: Int64, charging: Bool = false, _ body: (inout QuotaBook) -> T) async throws -> T {
        try await withLoadedState(now: now, charging: charging) { body(&$0.book!) }  // in place: a copy would make the next write copy the book
    }

    /// `withBook`, with the whole state (whose book is loaded and current).
    private nonisolated func withLoadedState<T: Sendable>(now: Int64, charging: Bool, _ body: (inout State) -> T) async throws -> T {
        var loads = 0, waits = 0
        while true {
            var stale = false, gated = false
            let result = state.withLock { state -> T? in
                guard state.book != nil, let loadedAt = state.loadedAt, !state.book!.isOutdated(now: now) else { return nil }
                if charging, state.gated {
                    gated = true
                    return nil
                }
                stale = ContinuousClock.now - loadedAt >= refresh
                return body(&state)
            }
            if let result {
                if stale { Task { try? await self.reload(now: now) } }
                return result
            }
            if gated {
                waits += 1
                guard waits <= 3, await wait(until: .gateOpen, timeout: gateTimeout) else { break }
                continue
            }
            loads += 1
            guard loads <= 3 else { break }
            try await reload(now: now)
        }
        throw TallyError(.unavailable, "the tenant's entitlements are being reloaded; retry shortly")
    }

    /// Whether a reload is draining charges in flight and reading usage now (new charges wait).
    public nonisolated var isReloadGated: Bool { state.withLock { $0.gated } }

    /// Waits until `condition` holds (`true`) or `timeout` passes (`false`). Woken by the change
    /// that makes it hold (`settle`, the end of a reload), not by polling.
    private nonisolated func wait(until condition: Condition, timeout: Duration) async -> Bool {
        let ticket = state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let now = self.state.withLock { state -> Bool? in
                            if state.holds(condition) { return true }
                            // Cancelled before it could register: onCancel found nothing to resume.
                            if Task.isCancelled { return false }
                            state.waiters[ticket] = Waiter(until: condition, continuation: continuation)
                            return nil
                        }
                        if let now { continuation.resume(returning: now) }
                    }
                } onCancel: {
                    self.state.withLock { $0.waiters.removeValue(forKey: ticket) }?.continuation.resume(returning: false)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Runs `change` on the state and wakes the waiters it satisfies.
    private nonisolated func changing<T>(_ change: (inout State) -> T) -> T {
        let (result, ready) = state.withLock { state in
            let result = change(&state)
            return (result, state.takeReady())
        }
        for waiter in ready { waiter.resume(returning: true) }
        return result
    }

    /// Reloads the book (one load at a time; callers during a load wait for it). With a book in
    /// memory, new charges wait and charges in flight settle first, so the usage read from the
    /// ledger holds every booking this node made and none is counted twice.
    func reload(now: Int64) async throws {
        if let loading { return try await loading.value }
        let task = Task { [loader, tenantID] in
            state.withLock { $0.gated = $0.book != nil }
            defer { changing { $0.gated = false } }
            _ = await wait(until: .settled, timeout: gateTimeout)
            // From here on, what settles was not in the ledger when the read began... unless the
            // wait above timed out with charges still in flight (then the view errs high).
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
                // Empty unless charges were still in flight after the wait (then the view errs high).
                if let old = state.book { fresh.carryOver(from: old, bookedSince: state.bookedSince ?? [:]) }
                state.book = fresh
                state.generation += 1
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
        try await leasingRetries(now: now) { $0.reserve(feature, amount: amount, until: until, now: now) }
    }

    /// Charges each event's demands in order (`charged` or `refused`, never `needsLease`:
    /// leases are grown here). The batch is charged in one pass under the book's lock (waiting
    /// for a reload first); events that need a bigger lease are then charged one by one, without
    /// waiting for reloads (a reload waits for this batch's charges to settle). On a throw,
    /// whatever was charged is released.
    public nonisolated func charge(_ events: [[(feature: String, amount: Quantity)]], now: Int64) async throws -> [QuotaBook.ChargeOutcome] {
        var outcomes = try await withBook(now: now, charging: true) { book in
            var outcomes: [QuotaBook.ChargeOutcome] = []
            outcomes.reserveCapacity(events.count)
            for demands in events {
                if case .needsLease? = outcomes.last {
                    outcomes.append(.needsLease(feature: "", amount: .zero))  // decided below, in order
                } else {
                    outcomes.append(demands.isEmpty ? .charged([]) : book.charge(demands, now: now))
                }
            }
            return outcomes
        }
        guard let first = outcomes.firstIndex(where: { if case .needsLease = $0 { true } else { false } }) else { return outcomes }
        do {
            for index in first..<events.count {
                outcomes[index] = events[index].isEmpty
                    ? .charged([])
                    : try await leasingRetries(now: now, charging: false) { $0.charge(events[index], now: now) }!
            }
        } catch {
            for case .charged(let charges) in outcomes.prefix(first) { _ = settle(charges, booked: false) }
            for index in first..<events.count { if case .charged(let charges) = outcomes[index] { _ = settle(charges, booked: false) } }
            throw error
        }
        return outcomes
    }

    /// Runs `attempt` on the book, growing the lease it asks for and trying again. An attempt
    /// becomes `refused` when it still lacks lease right after a growth that fell short of what
    /// it lacked (the pool is spent). A growth of zero that renewed a lapsed lease is not a
    /// refusal: the renewed balance may cover the attempt. (Each round either renews or takes
    /// quota from the pool, so the loop ends; the bound is a guard.)
    private nonisolated func leasingRetries(
        now: Int64, charging: Bool = true, _ attempt: (inout QuotaBook) -> QuotaBook.ChargeOutcome?
    ) async throws -> QuotaBook.ChargeOutcome? {
        var last: (grown: Quantity, short: Quantity)?
        for _ in 0..<1_000 {
            let outcome = try await withBook(now: now, charging: charging, attempt)
            guard case .needsLease(let leased, let short)? = outcome else { return outcome }
            if let last, last.grown < last.short {
                return .refused(feature: leased, Self.exhausted(try await check(leased, amount: short, now: now)))
            }
            last = (try await growLease(leased, need: short, now: now), short)
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
        return changing { state in
            guard state.book != nil else { return [] }
            if booked, state.bookedSince != nil {
                for charge in charges { state.bookedSince![charge.feature, default: .zero] += charge.amount }
            }
            return state.book!.settle(charges, booked: booked)
        }
    }

    /// Begins a correction of a booked event: call it before the correction's ledger commit, and
    /// end it with `correct` once the commit is done (or `endCorrection` if it failed). It loads
    /// the book first (a book first read after the commit would hold the correction already),
    /// waits while a reload reads usage, and holds the next reload until the correction ends, as
    /// charges in flight do: a reload's read then holds the correction exactly when the book it
    /// replaces does, so the view counts it once.
    public nonisolated func beginCorrection(now: Int64) async throws -> Correction {
        try await withLoadedState(now: now, charging: true) { state in
            state.corrections += 1
            return Correction(generation: state.generation)
        }
    }

    /// A correction begun (`beginCorrection`) and not yet ended.
    public struct Correction: Sendable {
        /// The book's generation when it began.
        let generation: Int
    }

    /// Ends a correction begun with `beginCorrection` whose commit failed: nothing is booked.
    public nonisolated func endCorrection(_ correction: Correction) {
        changing { $0.corrections = max($0.corrections - 1, 0) }
    }

    /// Ends a correction begun with `beginCorrection` once the ledger committed it, booking it
    /// (`QuotaBook.correction`, for an event dated `eventTime`, Unix seconds): the view's usage
    /// follows at once, and a leased line reports the change to the pool with its next renewal,
    /// so usage a void takes back can be booked again on any node. Returns the thresholds the
    /// change crossed.
    ///
    /// Only if a reload gave up waiting for the correction (after `gateTimeout`) and read the
    /// ledger meanwhile may its read hold the correction or not. Then usage the correction adds
    /// is counted in the view (if the read held it too, the view errs high) and usage it takes
    /// back is left in the view (errs high), until the next reload. The lease's report is exact
    /// either way.
    public nonisolated func correct(
        _ correction: Correction, before: [MeterReading], after: [MeterReading], eventTime: Int64
    ) -> [QuotaBook.ThresholdCrossing] {
        changing { state in
            state.corrections = max(state.corrections - 1, 0)
            guard let book = state.book else { return [] }
            var changes = book.correction(before: before, after: after, eventTime: eventTime)
            guard !changes.isEmpty else { return [] }
            if state.bookedSince != nil {
                for change in changes where change.amount > .zero { state.bookedSince![change.feature, default: .zero] += change.amount }
            }
            if state.generation != correction.generation {
                // A reload read the ledger while this correction was in flight: what it takes back
                // is owed to the pool, and stays in the view.
                state.book!.owe(changes.filter { $0.amount < .zero })
                changes = changes.filter { $0.amount > .zero }
            }
            return state.book!.correct(changes)
        }
    }

    /// Whether the book holds a reservation that has not expired at `now` (Unix seconds).
    public nonisolated func holdsReservations(at now: Int64) -> Bool {
        state.withLock { $0.book?.holdsReservations(at: now) ?? false }
    }

    /// The current windows of the leased lines that count `meter`, by feature.
    public nonisolated func leasedWindows(meter: String, now: Int64) async throws -> [(feature: String, window: PeriodWindow)] {
        try await withBook(now: now) { book in
            book.lines.values.filter { $0.meter == meter && $0.leased }.sorted { $0.feature < $1.feature }.map { ($0.feature, $0.window) }
        }
    }

    /// Owes the lease pool `changes` of leased lines' usage (`QuotaBook.owe`), reported with the
    /// next renewal; the view's usage is re-read by the next reload.
    public nonisolated func owe(_ changes: [(feature: String, amount: Quantity)]) {
        changing { state in state.book?.owe(changes) }
    }

    // MARK: Leases

    /// Grows the lease of `feature` by at least `need` if the pool has it, and returns the growth.
    /// One adjustment runs at a time per feature. A caller during one that asked for at least as
    /// much shares its result (and charges again; if others took the growth first, it comes back
    /// for more). One that asked for less (a renewal asks for nothing) says nothing about what
    /// the pool has left, so the caller waits for it and then asks for itself: sharing a
    /// renewal's zero would refuse the charge as if the pool were spent.
    func growLease(_ feature: String, need: Quantity, now: Int64) async throws -> Quantity {
        while let running = adjusting[feature] {
            let grown = try await running.task.value
            if running.need >= need { return grown }
        }
        let task = Task {
            defer { adjusting[feature] = nil }  // done: the next caller starts a new adjustment
            return try await adjust(feature, need: need, now: now)
        }
        adjusting[feature] = (need, task)
        return try await task.value
    }

    /// One round trip to the lease store for one line: report what was booked, keep what is
    /// held, and ask for `need` (rounded up to a block) more.
    private func adjust(_ feature: String, need: Quantity, now: Int64) async throws -> Quantity {
        guard let leasing else { return .zero }
        guard let line = state.withLock({ $0.book?.lines[feature] }), let balance = line.lease else { return .zero }
        // A lapsed balance is claimed again: the store grants it back only if no one took it.
        // The node holds its balance, its charges in flight and its reservations (taken out of
        // the lease when they were made): leaving reservations out would hand them back to the
        // pool while they are still promised here.
        let keep = balance + line.pending + line.reserved
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

    /// Reports spend (or usage corrections took back) and renews every lease that has some to
    /// report or is past half its life.
    public func renewLeases(now: Int64) async {
        guard leasing != nil else { return }
        let due = state.withLock { state in
            state.book?.lines.values.filter { $0.lease != nil && ($0.unreported != .zero || now >= $0.leaseValidUntil - 1) }.map(\.feature) ?? []
        }
        for feature in due {
            do {
                // Through growLease: one adjustment at a time per feature, or spend would be
                // reported twice.
                _ = try await growLease(feature, need: .zero, now: now)
            } catch {
                logger.debug("quota lease renewal failed", metadata: [LogKey.tenantID: "\(tenantID)", "feature": "\(feature)"])
            }
        }
    }

    /// Reports spend and gives every lease back (shutdown, eviction).
    public func releaseLeases() async {
        guard let leasing else { return }
        for running in adjusting.values { _ = try? await running.task.value }
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
