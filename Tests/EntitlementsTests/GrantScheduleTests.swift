import Core
import Entitlements
import Metering
import Testing

@Suite struct GrantScheduleTests {
    /// Periods of 100 s: [0, 100), [100, 200), … (a stand-in for months: the walk only needs windows).
    static func window(_ index: Int64) -> PeriodWindow { PeriodWindow(start: index * 100, end: index * 100 + 100, resetsAt: index * 100 + 100) }

    static func amounts(_ grants: [GrantDefinition], allowance: Int, usage: [Int], current: Int64) -> [String: Quantity] {
        let history = usage.enumerated().map { (window: window(Int64($0.offset)), used: Quantity($0.element)) }
        let standing = GrantSchedule.current(grants, allowance: Quantity(allowance), history: history, window: window(current))
        return Dictionary(uniqueKeysWithValues: standing.map { ($0.id, $0.amount) })
    }

    @Test func oneOffGrantsCarryTheirBalanceAcrossPeriodsUntilUsedUp() {
        let grant = GrantDefinition(id: "g", feature: "calls", amount: Quantity(100), effectiveAt: 0)
        // Allowance 50: period 0 uses 80 (30 from the grant), period 1 uses 120 (70 more): 0 left.
        #expect(Self.amounts([grant], allowance: 50, usage: [80], current: 1) == ["g": Quantity(70)])
        #expect(Self.amounts([grant], allowance: 50, usage: [80, 120], current: 2) == ["g": Quantity(0)])
        // Usage within the allowance leaves the grant whole.
        #expect(Self.amounts([grant], allowance: 50, usage: [10, 50], current: 2) == ["g": Quantity(100)])
    }

    @Test(arguments: [
        // (usage beyond the allowance per past period, rollover cap, amount available now)
        ([0], 0, 100), ([0], 40, 140), ([70], 40, 130), ([150], 40, 100), ([200], 40, 100),
        ([0, 0], 40, 140),       // the cap bounds what compounds
        ([0, 100], 500, 200),    // period 1 has 100 + 100 carried, uses 100: 100 carries on
    ])
    func recurringGrantsRollOverUpToTheirCap(usage: [Int], cap: Int, available: Int) {
        let grant = GrantDefinition(id: "r", feature: "calls", amount: Quantity(100), effectiveAt: 0, recurring: true, rolloverCap: Quantity(cap))
        #expect(Self.amounts([grant], allowance: 50, usage: usage.map { $0 + 50 }, current: Int64(usage.count)) == ["r": Quantity(available)])
    }

    @Test func grantsAreDrawnInPriorityOrderInEveryPeriod() {
        let first = GrantDefinition(id: "a", feature: "calls", amount: Quantity(30), priority: 0, effectiveAt: 0)
        let second = GrantDefinition(id: "b", feature: "calls", amount: Quantity(30), priority: 5, effectiveAt: 0)
        // 40 beyond the allowance: all of "a", 10 of "b".
        #expect(Self.amounts([second, first], allowance: 0, usage: [40], current: 1) == ["a": Quantity(0), "b": Quantity(20)])
    }

    @Test func expiredVoidedAndFutureGrantsDoNotCount() {
        let expired = GrantDefinition(id: "old", feature: "calls", amount: Quantity(10), effectiveAt: 0, expiresAt: 150)
        let voided = GrantDefinition(id: "void", feature: "calls", amount: Quantity(10), effectiveAt: 0, voidedAt: 5)
        let future = GrantDefinition(id: "new", feature: "calls", amount: Quantity(10), effectiveAt: 500)
        #expect(Self.amounts([expired, voided, future], allowance: 0, usage: [0, 0], current: 2).isEmpty)
        // The expired grant still counted in the periods it overlapped.
        #expect(Self.amounts([expired], allowance: 0, usage: [4], current: 1) == ["old": Quantity(6)])
    }

    @Test func pastPeriodsRunFromTheEarliestGrantAndAreBounded() {
        let period = EntitlementPeriod.calendarMonth(zone: .gmt)
        let march15 = Int64(1_773_532_800)  // 2026-03-15T00:00:00Z
        let grant = GrantDefinition(id: "g", feature: "calls", amount: Quantity(1), effectiveAt: 1_767_225_600)  // 2026-01-01
        let windows = GrantSchedule.pastPeriods(of: [grant], period: period, now: march15)
        #expect(windows.map(\.start) == [1_767_225_600, 1_769_904_000])  // January, February
        let ancient = GrantDefinition(id: "g", feature: "calls", amount: Quantity(1), effectiveAt: 0)
        #expect(GrantSchedule.pastPeriods(of: [ancient], period: period, now: march15).count == GrantSchedule.maxPastPeriods)
        #expect(GrantSchedule.pastPeriods(of: [grant], period: .rolling(seconds: 3600), now: march15).isEmpty)
        #expect(GrantSchedule.pastPeriods(of: [], period: period, now: march15).isEmpty)
    }

    @Test func validation() {
        func field(_ grant: GrantDefinition) -> String? {
            do {
                try grant.validate()
                return nil
            } catch {
                return error.field
            }
        }
        let good = GrantDefinition(id: "g", feature: "calls", amount: Quantity(5), effectiveAt: 10)
        #expect(field(good) == nil)
        var bad = good
        bad.amount = .zero
        #expect(field(bad) == "amount")
        bad = good
        bad.expiresAt = 10
        #expect(field(bad) == "expires_at")
        bad = good
        bad.rolloverCap = Quantity(5)
        #expect(field(bad) == "rollover_cap")
        bad = good
        bad.feature = "-"
        #expect(field(bad) == "feature")
    }
}
