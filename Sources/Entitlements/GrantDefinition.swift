import Core
import Metering

/// A credit granted to a tenant for one metered feature, as stored: one-off (a balance drawn
/// down across periods until it is used up or expires) or recurring (`amount` every period,
/// with up to `rolloverCap` of a period's unused part carried into the next).
public struct GrantDefinition: Sendable, Equatable {
    public var id: String
    public var feature: String
    public var amount: Quantity
    /// Lower is drawn first.
    public var priority: Int
    /// Unix seconds.
    public var effectiveAt: Int64
    public var expiresAt: Int64?
    public var recurring: Bool
    /// Recurring grants only; zero carries nothing over.
    public var rolloverCap: Quantity
    public var reason: String?
    public var voidedAt: Int64?

    public init(
        id: String, feature: String, amount: Quantity, priority: Int = 0, effectiveAt: Int64, expiresAt: Int64? = nil,
        recurring: Bool = false, rolloverCap: Quantity = .zero, reason: String? = nil, voidedAt: Int64? = nil
    ) {
        self.id = id
        self.feature = feature
        self.amount = amount
        self.priority = priority
        self.effectiveAt = effectiveAt
        self.expiresAt = expiresAt
        self.recurring = recurring
        self.rolloverCap = rolloverCap
        self.reason = reason
        self.voidedAt = voidedAt
    }

    /// Whether the grant counts at any time during `window`.
    func overlaps(_ window: PeriodWindow) -> Bool {
        voidedAt == nil && effectiveAt < window.end && (expiresAt.map { $0 > window.start } ?? true)
    }

    /// Checks the rules a new grant must meet; errors name the field.
    public func validate() throws(TallyError) {
        try Feature.validateKey(feature, field: "feature")
        guard amount > .zero else { throw .validation("amount", "amount must be more than 0") }
        guard (-1000...1000).contains(priority) else { throw .validation("priority", "priority must be in -1000...1000") }
        if let expiresAt, expiresAt <= effectiveAt { throw .validation("expires_at", "expires_at must be after effective_at") }
        guard rolloverCap >= .zero else { throw .validation("rollover_cap", "rollover_cap must be at least 0") }
        if !recurring, rolloverCap > .zero { throw .validation("rollover_cap", "only recurring grants roll over") }
        if let reason, reason.unicodeScalars.count > 500 { throw .validation("reason", "reason must be at most 500 characters") }
    }
}

/// How grants stand in the current period, worked out from the usage of the periods before it:
/// one-off grants carry their remaining balance forward, recurring grants start each period at
/// their amount plus what rolled over. Within a period the allowance is used first, then
/// grants in draw order (priority, earliest expiry, id), as `EntitlementCheck` draws them.
public enum GrantSchedule {
    /// At most this many past periods are walked; a grant older than that starts the walk with
    /// its full amount at the oldest period walked.
    public static let maxPastPeriods = 24

    /// The past periods (oldest first) whose usage `current` needs: from the period holding the
    /// earliest grant's start up to the one before `now`'s. None for rolling windows.
    public static func pastPeriods(of grants: [GrantDefinition], period: EntitlementPeriod, now: Int64) -> [PeriodWindow] {
        guard case .rolling = period else {
            let live = grants.filter { $0.voidedAt == nil }
            guard let earliest = live.map(\.effectiveAt).min() else { return [] }
            var windows: [PeriodWindow] = []
            var window = period.window(at: now)
            while windows.count < maxPastPeriods, window.start > earliest {
                window = period.window(at: window.start - 1)
                windows.append(window)
            }
            return windows.reversed()
        }
        return []
    }

    /// The grants as they stand in `window`, given each past period's usage (from `pastPeriods`).
    public static func current(
        _ grants: [GrantDefinition], allowance: Quantity, history: [(window: PeriodWindow, used: Quantity)], window: PeriodWindow
    ) -> [Grant] {
        var balance: [String: Quantity] = [:]   // one-off: what is left; recurring: this period's available
        var carry: [String: Quantity] = [:]
        let ordered = grants.filter { $0.voidedAt == nil }.sorted {
            ($0.priority, $0.expiresAt ?? .max, $0.id) < ($1.priority, $1.expiresAt ?? .max, $1.id)
        }
        for (past, used) in history {
            var left = max(used - allowance, .zero)
            for grant in ordered where grant.overlaps(past) {
                let available = grant.recurring ? grant.amount + (carry[grant.id] ?? .zero) : (balance[grant.id] ?? grant.amount)
                let taken = min(left, available)
                left = left - taken
                if grant.recurring {
                    carry[grant.id] = min(available - taken, grant.rolloverCap)
                } else {
                    balance[grant.id] = available - taken
                }
            }
        }
        return ordered.filter { $0.overlaps(window) }.map { grant in
            let amount = grant.recurring ? grant.amount + (carry[grant.id] ?? .zero) : (balance[grant.id] ?? grant.amount)
            return Grant(id: grant.id, amount: amount, priority: grant.priority, effectiveAt: grant.effectiveAt, expiresAt: grant.expiresAt)
        }
    }
}
