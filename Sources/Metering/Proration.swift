import Core

/// Proration by the second: a fee for a whole period, charged or credited for part of it.
/// Pure; amounts are whole minor units and results are rounded half away from zero.
public enum Proration {
    /// The share of `amount` for `seconds` of a `periodSeconds`-long period.
    public static func share(of amount: Money, seconds: Int64, periodSeconds: Int64) -> Money {
        precondition(periodSeconds > 0)
        let used = Int128(max(0, min(seconds, periodSeconds)))
        let exact = Int128(amount.minorUnits) * used
        let period = Int128(periodSeconds)
        var rounded = exact / period
        if (exact % period).magnitude * 2 >= period.magnitude { rounded += exact < 0 ? -1 : 1 }
        return Money(minorUnits: Int64(rounded), currency: amount.currency)
    }

    /// Changing from `old` to `new` at `changeAt` within `[periodStart, periodEnd)`: a credit for
    /// the unused time of the old price (negative) and a charge for the rest of the period at
    /// the new one.
    public static func change(from old: Money, to new: Money, periodStart: Int64, periodEnd: Int64, changeAt: Int64) -> (credit: Money, charge: Money) {
        let period = periodEnd - periodStart
        let remaining = max(0, min(period, periodEnd - changeAt))
        return (share(of: old, seconds: remaining, periodSeconds: period).negated, share(of: new, seconds: remaining, periodSeconds: period))
    }
}
