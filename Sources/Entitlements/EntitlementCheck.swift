import Core
import Metering

/// How a metered entitlement's limit is enforced.
public enum Enforcement: String, Sendable, Equatable, Codable {
    /// Usage that would pass the limit is refused (`quota_exceeded`).
    case hard
    /// Usage passes the limit; crossing thresholds is reported, and overage may be billed.
    case soft
}

/// A metered entitlement's allowance per period.
public struct MeteredLimit: Sendable, Equatable {
    /// What the period allows before grants.
    public var allowance: Quantity
    public var enforcement: Enforcement
    /// Soft limits only: usage past the limit is billable overage rather than merely reported.
    public var overage: Bool
    /// Percentages of the limit whose crossing is notified once per period (default 80 and 100).
    public var thresholds: [Int]

    public init(allowance: Quantity, enforcement: Enforcement, overage: Bool = false, thresholds: [Int] = [80, 100]) {
        self.allowance = allowance
        self.enforcement = enforcement
        self.overage = overage
        self.thresholds = thresholds
    }
}

/// Credit on top of the allowance as it stands in one period (see `GrantSchedule`), drawn in
/// priority order.
public struct Grant: Sendable, Equatable {
    public var id: String
    /// What is available from this grant in the current period (for a recurring grant, the
    /// period's amount plus whatever rolled over).
    public var amount: Quantity
    /// Lower is drawn first; ties go to the grant that expires first, then by id.
    public var priority: Int
    public var effectiveAt: Int64
    public var expiresAt: Int64?

    public init(id: String, amount: Quantity, priority: Int = 0, effectiveAt: Int64, expiresAt: Int64? = nil) {
        self.id = id
        self.amount = amount
        self.priority = priority
        self.effectiveAt = effectiveAt
        self.expiresAt = expiresAt
    }

    public func isActive(at now: Int64) -> Bool { effectiveAt <= now && (expiresAt.map { now < $0 } ?? true) }
}

/// The answer to "may this tenant use `requested` more of this feature now?".
public struct CheckResult: Sendable, Equatable {
    public var allowed: Bool
    /// Allowance plus active grants.
    public var limit: Quantity
    public var used: Quantity
    /// What is left of the limit (never negative).
    public var remaining: Quantity
    /// Usage past the limit, counting `requested` (soft limits; zero under a hard limit).
    public var overage: Quantity
    public var resetsAt: Int64?
    /// How much of `used` each grant covers, allowance first then grants in draw order.
    public var drawdown: [GrantUse]

    public init(
        allowed: Bool, limit: Quantity, used: Quantity, remaining: Quantity, overage: Quantity, resetsAt: Int64?, drawdown: [GrantUse]
    ) {
        self.allowed = allowed
        self.limit = limit
        self.used = used
        self.remaining = remaining
        self.overage = overage
        self.resetsAt = resetsAt
        self.drawdown = drawdown
    }

    public struct GrantUse: Sendable, Equatable {
        public var grantID: String
        public var used: Quantity

        public init(grantID: String, used: Quantity) {
            self.grantID = grantID
            self.used = used
        }
    }
}

/// Metered entitlement checks, pure: the tenant actor answers them from memory with the
/// period's usage, and ingest uses the same rule to refuse what a hard limit does not allow.
public enum EntitlementCheck {
    public static func evaluate(
        limit: MeteredLimit, grants: [Grant], used: Quantity, requested: Quantity, window: PeriodWindow, now: Int64
    ) -> CheckResult {
        // One pass without allocating for the limit (the hot path); the draw order is worked
        // out only when usage has gone past the allowance.
        var total = limit.allowance
        for grant in grants where grant.isActive(at: now) { total = total.adding(grant.amount) ?? total }
        let after = used.adding(requested) ?? used
        let allowed: Bool
        switch limit.enforcement {
        case .hard: allowed = requested > .zero ? after <= total : used < total
        case .soft: allowed = true
        }
        var drawdown: [CheckResult.GrantUse] = []
        var left = max(used.subtracting(limit.allowance) ?? .zero, .zero)  // usage the allowance did not cover
        if left > .zero, !grants.isEmpty {
            let active = grants.filter { $0.isActive(at: now) }.sorted {
                ($0.priority, $0.expiresAt ?? .max, $0.id) < ($1.priority, $1.expiresAt ?? .max, $1.id)
            }
            for grant in active where left > .zero {
                let taken = min(left, grant.amount)
                drawdown.append(CheckResult.GrantUse(grantID: grant.id, used: taken))
                left = left.subtracting(taken) ?? .zero
            }
        }
        let remaining = max(total.subtracting(used) ?? .zero, .zero)
        let overage = limit.enforcement == .soft ? max(after.subtracting(total) ?? .zero, .zero) : .zero
        return CheckResult(
            allowed: allowed, limit: total, used: used, remaining: remaining, overage: overage, resetsAt: window.resetsAt, drawdown: drawdown
        )
    }

    /// The thresholds (percent of `limit`) that usage crosses going from `before` to `after`:
    /// each is notified once per period, by whoever books the usage that crosses it.
    public static func crossedThresholds(_ thresholds: [Int], limit: Quantity, before: Quantity, after: Quantity) -> [Int] {
        guard limit > .zero else { return [] }
        return thresholds.sorted().filter { percent in
            guard let mark = limit.multiplied(byPercent: percent) else { return false }
            return before < mark && after >= mark
        }
    }
}
