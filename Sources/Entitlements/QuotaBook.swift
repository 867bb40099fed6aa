import Core
import Metering

/// One tenant's entitlements in memory, as its `TenantActor` holds them: the boolean and static
/// ones, and for each metered one the period's usage, what ingest has charged but not yet
/// settled, reservations, and (across nodes) what is left of this node's lease. Checks and
/// ingest charges are answered from here without I/O; the actor reloads the usage from the
/// ledger's rollups when the period turns and every few seconds (other nodes book too).
public struct QuotaBook: Sendable {
    public struct Line: Sendable {
        public var feature: String
        public var meter: String
        public var spec: MeteredSpec
        public var window: PeriodWindow
        /// Grants as they stand this period.
        public var grants: [Grant]
        /// Usage booked in the window: the ledger's when loaded plus what this node booked since.
        public var used: Quantity
        /// Charged by ingest in flight and not yet settled.
        public var pending: Quantity = .zero
        public var reservations: [Reservation] = []
        /// What is left of this node's lease (`nil`: no leasing, this node alone enforces the limit).
        public var lease: Quantity?
        /// Whether the meter adds up (SUM, COUNT): each event's reading is its demand. Other
        /// aggregations demand nothing per event; their events are refused once usage reaches
        /// the limit.
        public var additive = true
        /// Unix seconds after which the lease must be renewed before it is spent.
        public var leaseValidUntil: Int64 = 0
        /// Booked from the lease and not yet reported to the lease store; negative when
        /// corrections (or negative readings) took back more usage than was booked since.
        public var unreported: Quantity = .zero

        public init(feature: String, meter: String, spec: MeteredSpec, window: PeriodWindow, grants: [Grant], used: Quantity) {
            self.feature = feature
            self.meter = meter
            self.spec = spec
            self.window = window
            self.grants = grants
            self.used = used
        }

        public var reserved: Quantity {
            var total = Quantity.zero
            for reservation in reservations { total = total + reservation.amount }
            return total
        }
        /// Allowance plus grants.
        public var total: Quantity { grants.reduce(spec.limit) { $0 + $1.amount } }
        /// Whether leasing binds this line: hard limits only, where a lease store is configured.
        public var leased: Bool { lease != nil && spec.enforcement == .hard }

        /// Whether an event at `time` (Unix seconds) counts in this window.
        public func counts(at time: Int64) -> Bool { window.start <= time && (window.resetsAt == nil || time < window.end) }

        func evaluate(requested: Quantity, now: Int64) -> CheckResult {
            EntitlementCheck.evaluate(
                limit: spec.meteredLimit, grants: grants, used: used + pending + reserved, requested: requested, window: window, now: now
            )
        }
    }

    /// Quota held for a caller that checked with `reserve`: it counts as used until it expires or
    /// ingest books usage of the feature, which draws it down.
    public struct Reservation: Sendable, Equatable {
        public var amount: Quantity
        public var expiresAt: Int64
    }

    /// Ingest's charge for one feature of one event.
    public struct Charge: Sendable, Equatable {
        public var feature: String
        public var amount: Quantity
        /// The parts of reservations it drew, oldest first: given back if the charge is not booked.
        public var drawn: [Reservation]

        public init(feature: String, amount: Quantity, drawn: [Reservation] = []) {
            self.feature = feature
            self.amount = amount
            self.drawn = drawn
        }

        /// How much of `amount` was already held by reservations (and their lease): what it drew.
        public var fromReservation: Quantity { drawn.reduce(.zero) { $0 + $1.amount } }
    }

    public enum ChargeOutcome: Sendable, Equatable {
        case charged([Charge])
        /// A hard limit does not allow the event.
        case refused(feature: String, CheckResult)
        /// The node's lease for `feature` must grow by at least `amount` first.
        case needsLease(feature: String, amount: Quantity)
    }

    /// A threshold crossed by booked usage: notified once per feature, period and threshold.
    public struct ThresholdCrossing: Sendable, Equatable {
        public var feature: String
        public var periodStart: Int64
        public var threshold: Int
        public var used: Quantity
        public var limit: Quantity

        public init(feature: String, periodStart: Int64, threshold: Int, used: Quantity, limit: Quantity) {
            self.feature = feature
            self.periodStart = periodStart
            self.threshold = threshold
            self.used = used
            self.limit = limit
        }
    }

    /// Metered entitlements by feature key.
    public var lines: [String: Line]
    /// Boolean and static entitlements by feature key.
    public var others: [String: EntitlementSpec]

    public init(lines: [String: Line] = [:], others: [String: EntitlementSpec] = [:]) {
        self.lines = lines
        self.others = others
    }

    /// Whether a period has turned since the book was loaded (so it must be reloaded).
    public func isOutdated(now: Int64) -> Bool {
        lines.values.contains { $0.window.resetsAt.map { now >= $0 } ?? false }
    }

    /// The metered check for `feature`, counting reservations and unsettled charges as used.
    public mutating func check(_ feature: String, amount: Quantity, now: Int64) -> CheckResult? {
        guard let index = lines.index(forKey: feature) else { return nil }
        if !lines.values[index].reservations.isEmpty { expireReservations(feature, now: now) }
        return lines.values[index].evaluate(requested: amount, now: now)
    }

    /// Checks and, if allowed, holds `amount` until `until`. Under a lease the amount comes out
    /// of the lease first (`needsLease` when it is short).
    public mutating func reserve(_ feature: String, amount: Quantity, until: Int64, now: Int64) -> ChargeOutcome? {
        guard var line = lines[feature] else { return nil }
        expireReservations(feature, now: now)
        line = lines[feature]!
        let result = line.evaluate(requested: amount, now: now)
        guard result.allowed || line.leased else { return .refused(feature: feature, result) }
        if line.leased {
            let balance = now < line.leaseValidUntil ? line.lease! : .zero
            guard balance >= amount else { return .needsLease(feature: feature, amount: amount - balance) }
            line.lease = balance - amount
        }
        line.reservations.append(Reservation(amount: amount, expiresAt: until))
        lines[feature] = line
        return .charged([Charge(feature: feature, amount: amount)])
    }

    /// What one event asks of each metered line: its reading of the line's meter (the value of a
    /// SUM meter, 1 for a COUNT meter, 0 for other aggregations, whose limits are checked against
    /// booked usage only), for events whose own time falls in the line's window.
    public func demands(of readings: [MeterReading], eventTime: Int64) -> [(feature: String, amount: Quantity)] {
        guard !lines.isEmpty else { return [] }
        var demands: [(String, Quantity)] = []
        for reading in readings {
            for line in lines.values where line.meter == reading.meter && line.counts(at: eventTime) {
                switch reading.value {
                case .number(let value) where line.additive: demands.append((line.feature, value))
                case .none where line.additive: demands.append((line.feature, .one))
                default: demands.append((line.feature, .zero))
                }
            }
        }
        return demands
    }

    /// Charges one event's demands, all or none: refused when a hard limit does not allow one of
    /// them; otherwise each is pending until `settle`.
    public mutating func charge(_ demands: [(feature: String, amount: Quantity)], now: Int64) -> ChargeOutcome {
        var next = self
        var charges: [Charge] = []
        for (feature, amount) in demands {
            next.expireReservations(feature, now: now)
            guard var line = next.lines[feature] else { continue }
            let covered = min(max(amount, .zero), line.reserved)
            let drawn = line.consumeReservations(covered)
            let rest = amount - covered
            // A leased line is bound by its lease (the pool knows every node's usage; this node's
            // view of `used` lags the others'); an unleased one by the usage this node sees.
            if line.spec.enforcement == .hard, (rest > .zero && !line.leased) || !line.additive {
                let result = line.evaluate(requested: rest, now: now)
                guard result.allowed else { return .refused(feature: feature, result) }
            }
            if line.leased, rest > .zero {
                let balance = now < line.leaseValidUntil ? line.lease! : .zero
                guard balance >= rest else { return .needsLease(feature: feature, amount: rest - balance) }
                line.lease = balance - rest
            }
            line.pending = line.pending + amount
            next.lines[feature] = line
            charges.append(Charge(feature: feature, amount: amount, drawn: drawn))
        }
        self = next
        return .charged(charges)
    }

    /// Settles charges: booked ones become usage (and report the thresholds they cross); the
    /// others (duplicates, failed commits) give back the reservations they drew (a retried event
    /// does not use up the caller's promise; an expired one is freed by the next look) and the
    /// rest of their amount to the lease.
    public mutating func settle(_ charges: [Charge], booked: Bool) -> [ThresholdCrossing] {
        var crossings: [ThresholdCrossing] = []
        for charge in charges {
            guard var line = lines[charge.feature] else { continue }
            line.pending = max(line.pending - charge.amount, .zero)
            if booked {
                crossings += line.book(charge.amount)
            } else {
                line.reservations.insert(contentsOf: charge.drawn, at: 0)
                if line.leased { line.lease = line.lease! + max(max(charge.amount, .zero) - charge.fromReservation, .zero) }
            }
            lines[charge.feature] = line
        }
        return crossings
    }

    /// Changes the lease by `amount` (negative when the pool took some back), valid until
    /// `validUntil`; `reported` is the spend the lease store took with it.
    public mutating func addLease(_ feature: String, amount: Quantity, validUntil: Int64, reported: Quantity) {
        guard var line = lines[feature], line.lease != nil else { return }
        line.lease = max(line.lease! + amount, .zero)
        line.leaseValidUntil = validUntil
        line.unreported = line.unreported - reported
        lines[feature] = line
    }

    /// How a correction of a booked event changes each line's usage: its demands as it counts
    /// now (`after`, none once voided) less its demands as it counted before, per feature, for
    /// the features it changes.
    public func correction(before: [MeterReading], after: [MeterReading], eventTime: Int64) -> [(feature: String, amount: Quantity)] {
        var change: [String: Quantity] = [:]
        for (feature, amount) in demands(of: before, eventTime: eventTime) { change[feature, default: .zero] = change[feature, default: .zero] - amount }
        for (feature, amount) in demands(of: after, eventTime: eventTime) { change[feature, default: .zero] = change[feature, default: .zero] + amount }
        return change.filter { $0.value != .zero }.sorted { $0.key < $1.key }.map { (feature: $0.key, amount: $0.value) }
    }

    /// Books `changes` (from `correction`) as usage at once; a leased line also owes them to the
    /// lease store, with its next renewal: usage taken back returns to the pool, usage added is
    /// counted in it. A correction is never refused for the limit (it states what happened), so
    /// an amendment may take usage past it; thresholds it crosses are returned.
    public mutating func correct(_ changes: [(feature: String, amount: Quantity)]) -> [ThresholdCrossing] {
        var crossings: [ThresholdCrossing] = []
        for (feature, amount) in changes {
            guard var line = lines[feature] else { continue }
            crossings += line.book(amount)
            lines[feature] = line
        }
        return crossings
    }

    /// Whether a reservation is still held at `now` (Unix seconds).
    public func holdsReservations(at now: Int64) -> Bool {
        lines.values.contains { line in line.reservations.contains { $0.expiresAt > now } }
    }

    /// Adds `changes` to what leased lines owe the lease store, without touching the view's
    /// usage: for a meter recomputed over the ledger, whose new usage the next reload reads.
    public mutating func owe(_ changes: [(feature: String, amount: Quantity)]) {
        for (feature, amount) in changes {
            guard var line = lines[feature], line.leased else { continue }
            line.unreported = line.unreported + amount
            lines[feature] = line
        }
    }

    /// Carries this node's own state (unsettled charges, reservations, lease) over from the book
    /// it replaces, for lines in the same window; `bookedSince` is what this node booked once
    /// the new book's usage began to be read (empty when the reload drained charges in flight; if
    /// it could not, some of it may be in the read as well, and the view errs on the high side).
    public mutating func carryOver(from old: QuotaBook, bookedSince: [String: Quantity]) {
        for (feature, previous) in old.lines {
            guard var line = lines[feature] else { continue }
            if line.window.start == previous.window.start || line.window.resetsAt == nil {
                line.pending = previous.pending
                line.reservations = previous.reservations
                line.used = line.used + (bookedSince[feature] ?? .zero)
            }
            if line.lease != nil, previous.lease != nil, line.window.start == previous.window.start {
                line.lease = previous.lease
                line.leaseValidUntil = previous.leaseValidUntil
                line.unreported = previous.unreported
            }
            lines[feature] = line
        }
    }

    mutating func expireReservations(_ feature: String, now: Int64) {
        guard var line = lines[feature], line.reservations.contains(where: { $0.expiresAt <= now }) else { return }
        let expired = line.reservations.filter { $0.expiresAt <= now }.reduce(.zero) { $0 + $1.amount }
        line.reservations.removeAll { $0.expiresAt <= now }
        if line.leased { line.lease = line.lease! + expired }
        lines[feature] = line
    }
}

extension QuotaBook.Line {
    /// Books `amount` (signed) as usage: a leased line owes it to the lease store; returns the
    /// thresholds it crossed.
    mutating func book(_ amount: Quantity) -> [QuotaBook.ThresholdCrossing] {
        let before = used, limit = total
        used = used + amount
        if leased { unreported = unreported + amount }
        return EntitlementCheck.crossedThresholds(spec.thresholds, limit: limit, before: before, after: used).map {
            QuotaBook.ThresholdCrossing(feature: feature, periodStart: window.start, threshold: $0, used: used, limit: limit)
        }
    }

    /// Draws `amount` from reservations, oldest first; returns the parts drawn.
    mutating func consumeReservations(_ amount: Quantity) -> [QuotaBook.Reservation] {
        var left = amount
        var drawn: [QuotaBook.Reservation] = []
        while left > .zero, !reservations.isEmpty {
            let taken = min(left, reservations[0].amount)
            drawn.append(QuotaBook.Reservation(amount: taken, expiresAt: reservations[0].expiresAt))
            reservations[0].amount = reservations[0].amount - taken
            left = left - taken
            if reservations[0].amount == .zero { reservations.removeFirst() }
        }
        return drawn
    }
}
