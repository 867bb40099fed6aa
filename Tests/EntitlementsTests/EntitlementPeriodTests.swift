import Core
import Entitlements
import Foundation
import Metering
import Testing

@Suite struct EntitlementPeriodTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// Unix seconds of an RFC 3339 time.
    static func at(_ text: String) -> Int64 { RFC3339.microseconds(text)! / 1_000_000 }

    @Test(arguments: [
        ("2026-11-28T10:00:00Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2027-02-01T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"),
        ("2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"),
    ])
    func calendarMonthsInUTC(now: String, start: String, end: String) {
        let window = EntitlementPeriod.calendarMonth(zone: Self.utc).window(at: Self.at(now))
        #expect(window == PeriodWindow(start: Self.at(start), end: Self.at(end), resetsAt: Self.at(end)))
    }

    @Test func calendarMonthsFollowLocalMidnight() {
        // 23:30Z on 31 October is already 1 November in Berlin (+01:00 after the DST change).
        let window = EntitlementPeriod.calendarMonth(zone: Self.berlin).window(at: Self.at("2026-10-31T23:30:00Z"))
        #expect(window.start == Self.at("2026-10-31T23:00:00Z"))
        #expect(window.end == Self.at("2026-11-30T23:00:00Z"))
    }

    @Test func rollingWindowsSlideAndNeverReset() {
        let window = EntitlementPeriod.rolling(seconds: 3_600).window(at: 10_000)
        #expect(window == PeriodWindow(start: 6_400, end: 10_000, resetsAt: nil))
    }

    @Test(arguments: [
        // Anchored on 31 January: the period ends on the last day of shorter months.
        ("2026-01-31T09:00:00Z", 1, "2026-02-15T00:00:00Z", "2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z"),
        ("2026-01-31T09:00:00Z", 1, "2026-03-01T00:00:00Z", "2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z"),
        ("2026-01-31T09:00:00Z", 1, "2026-04-30T09:00:00Z", "2026-04-30T09:00:00Z", "2026-05-31T09:00:00Z"),
        // Quarterly, and before the anchor.
        ("2026-01-15T00:00:00Z", 3, "2026-05-01T00:00:00Z", "2026-04-15T00:00:00Z", "2026-07-15T00:00:00Z"),
        ("2026-01-15T00:00:00Z", 1, "2025-12-20T00:00:00Z", "2025-12-15T00:00:00Z", "2026-01-15T00:00:00Z"),
        // Exactly on a boundary: the new period.
        ("2026-01-15T00:00:00Z", 1, "2026-02-15T00:00:00Z", "2026-02-15T00:00:00Z", "2026-03-15T00:00:00Z"),
    ])
    func billingPeriodsFromAnAnchor(anchor: String, months: Int, now: String, start: String, end: String) {
        let window = EntitlementPeriod.billing(anchor: Self.at(anchor), months: months, zone: Self.utc).window(at: Self.at(now))
        #expect(window == PeriodWindow(start: Self.at(start), end: Self.at(end), resetsAt: Self.at(end)))
    }
}

@Suite struct EntitlementCheckTests {
    static let window = PeriodWindow(start: 0, end: 1_000, resetsAt: 1_000)

    func check(
        _ enforcement: Enforcement, allowance: Int = 100, used: Int, requested: Int = 0, grants: [Grant] = [], overage: Bool = false, now: Int64 = 500
    ) -> CheckResult {
        EntitlementCheck.evaluate(
            limit: MeteredLimit(allowance: Quantity(allowance), enforcement: enforcement, overage: overage),
            grants: grants, used: Quantity(used), requested: Quantity(requested), window: Self.window, now: now
        )
    }

    @Test(arguments: [
        // (enforcement, used, requested, allowed, remaining, overage)
        (Enforcement.hard, 0, 0, true, 100, 0),
        (.hard, 99, 1, true, 1, 0),
        (.hard, 99, 2, false, 1, 0),
        (.hard, 100, 0, false, 0, 0),
        (.hard, 100, 1, false, 0, 0),
        (.hard, 150, 0, false, 0, 0),  // booked past the limit by a lease block: nothing remains
        (.soft, 99, 2, true, 1, 1),
        (.soft, 120, 5, true, 0, 25),
    ])
    func hardAndSoftLimits(enforcement: Enforcement, used: Int, requested: Int, allowed: Bool, remaining: Int, overage: Int) {
        let result = check(enforcement, used: used, requested: requested)
        #expect(result.allowed == allowed)
        #expect(result.limit == Quantity(100))
        #expect(result.remaining == Quantity(remaining))
        #expect(result.overage == Quantity(overage))
        #expect(result.resetsAt == 1_000)
    }

    @Test func grantsRaiseTheLimitAndAreDrawnInPriorityThenExpiryOrder() {
        let grants = [
            Grant(id: "promo", amount: Quantity(50), priority: 1, effectiveAt: 0, expiresAt: 900),
            Grant(id: "support", amount: Quantity(30), priority: 0, effectiveAt: 0),
            Grant(id: "soon", amount: Quantity(20), priority: 1, effectiveAt: 0, expiresAt: 600),
            Grant(id: "later", amount: Quantity(1_000), priority: 0, effectiveAt: 700),  // not yet in effect
            Grant(id: "gone", amount: Quantity(1_000), priority: 0, effectiveAt: 0, expiresAt: 400),  // expired
        ]
        let result = check(.hard, used: 160, requested: 40, grants: grants)
        #expect(result.limit == Quantity(200))
        #expect(result.allowed)
        #expect(result.remaining == Quantity(40))
        #expect(result.drawdown == [
            .init(grantID: "support", used: Quantity(30)),
            .init(grantID: "soon", used: Quantity(20)),
            .init(grantID: "promo", used: Quantity(10)),
        ])
        #expect(!check(.hard, used: 160, requested: 41, grants: grants).allowed)
        // By 950 "promo" and "soon" have expired and "later" has taken effect.
        #expect(check(.hard, used: 160, grants: grants, now: 950).limit == Quantity(1_130))
    }

    @Test(arguments: [
        // (before, after, crossed)
        (0, 79, [Int]()), (0, 80, [80]), (79, 100, [80, 100]), (80, 99, []), (99, 250, [100]), (100, 101, []),
    ])
    func thresholdsAreCrossedOnce(before: Int, after: Int, crossed: [Int]) {
        #expect(EntitlementCheck.crossedThresholds([100, 80], limit: Quantity(100), before: Quantity(before), after: Quantity(after)) == crossed)
    }

    @Test func thresholdsOfFractionalLimitsRoundUp() {
        // 80 % of 0.000000001 is 0.0000000008: not reached until usage is a whole billionth.
        let tiny = Quantity("0.000000001")!
        #expect(EntitlementCheck.crossedThresholds([80], limit: tiny, before: .zero, after: tiny) == [80])
        #expect(EntitlementCheck.crossedThresholds([80], limit: Quantity(10), before: .zero, after: Quantity("7.999999999")!).isEmpty)
        #expect(EntitlementCheck.crossedThresholds([80], limit: .zero, before: .zero, after: Quantity(1)).isEmpty)
    }
}

@Suite struct FeatureTests {
    @Test func validation() {
        func field(_ feature: Feature) -> String? {
            do {
                try feature.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(Feature(key: "api-calls", name: "API calls", kind: .metered, meter: "calls")) == nil)
        #expect(field(Feature(key: "sso", name: "Single sign-on", kind: .boolean)) == nil)
        #expect(field(Feature(key: "-x", name: "X", kind: .boolean)) == "key")
        #expect(field(Feature(key: "seats", name: " ", kind: .static)) == "name")
        #expect(field(Feature(key: "api-calls", name: "API calls", kind: .metered)) == "meter")
        #expect(field(Feature(key: "sso", name: "SSO", kind: .boolean, meter: "calls")) == "meter")
    }
}
