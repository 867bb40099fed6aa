import Core
import Entitlements
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A subscription's billing periods: the plan's interval counted from the subscription's start
/// in the tenant's time zone, the same day and time each month (clamped to short months), so a
/// period across a daylight-saving change is an hour longer or shorter, and proration by the
/// second follows the real length.
public enum BillingPeriod {
    /// The period holding `now` for a subscription that started at `anchor` (Unix seconds).
    public static func window(interval: PricePlan.Interval, anchor: Int64, zone: TimeZone, at now: Int64) -> PeriodWindow {
        EntitlementPeriod.billing(anchor: anchor, months: interval == .year ? 12 : 1, zone: zone).window(at: now)
    }
}
