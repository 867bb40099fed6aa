import Core
import Entitlements
import Metering
import Testing

@Suite struct QuotaBookTests {
    static let window = PeriodWindow(start: 0, end: 1_000, resetsAt: 1_000)

    static func book(_ enforcement: Enforcement = .hard, limit: Int = 10, used: Int = 0, grants: [Grant] = [], leased: Bool = false) -> QuotaBook {
        var line = QuotaBook.Line(
            feature: "calls", meter: "api-calls", spec: MeteredSpec(limit: Quantity(limit), enforcement: enforcement),
            window: window, grants: grants, used: Quantity(used)
        )
        if leased { line.lease = .zero }
        return QuotaBook(lines: ["calls": line], others: ["sso": .boolean(true)])
    }

    static func reading(_ value: MeterReading.Value, meter: String = "api-calls") -> MeterReading {
        MeterReading(meter: meter, time: 500_000_000, eventID: "e", value: value, dimensions: [:])
    }

    @Test func demandsFollowTheMeterAndTheWindow() {
        let book = Self.book()
        #expect(book.demands(of: [Self.reading(.none)], eventTime: 500).map(\.amount) == [Quantity(1)])
        #expect(book.demands(of: [Self.reading(.number(Quantity(7)))], eventTime: 500).map(\.amount) == [Quantity(7)])
        #expect(book.demands(of: [Self.reading(.none, meter: "other")], eventTime: 500).isEmpty)
        // An event of an earlier period counts there, not against this one.
        #expect(book.demands(of: [Self.reading(.none)], eventTime: -1).isEmpty)
    }

    @Test func hardLimitsRefuseWhatPendingChargesWouldPass() {
        var book = Self.book(limit: 10, used: 7)
        guard case .charged(let first) = book.charge([("calls", Quantity(2))], now: 1) else { Issue.record("refused"); return }
        // 7 used + 2 pending: 1 more fits, 2 do not.
        guard case .refused(let feature, let result) = book.charge([("calls", Quantity(2))], now: 1) else { Issue.record("allowed"); return }
        #expect(feature == "calls")
        #expect(result.remaining == Quantity(1))
        guard case .charged(let second) = book.charge([("calls", Quantity(1))], now: 1) else { Issue.record("refused"); return }
        // The first charge turns out a duplicate: its amount is free again.
        _ = book.settle(first, booked: false)
        _ = book.settle(second, booked: true)
        #expect(book.lines["calls"]!.used == Quantity(8))
        #expect(book.lines["calls"]!.pending == .zero)
        #expect(book.check("calls", amount: Quantity(2), now: 1)?.allowed == true)
        #expect(book.check("calls", amount: Quantity(3), now: 1)?.allowed == false)
    }

    @Test func aRefusedEventChargesNoneOfItsFeatures() {
        var book = Self.book(limit: 10, used: 0)
        book.lines["small"] = QuotaBook.Line(
            feature: "small", meter: "api-calls", spec: MeteredSpec(limit: Quantity(1)), window: Self.window, grants: [], used: Quantity(1)
        )
        guard case .refused(let feature, _) = book.charge([("calls", Quantity(1)), ("small", Quantity(1))], now: 1) else { Issue.record("allowed"); return }
        #expect(feature == "small")
        #expect(book.lines["calls"]!.pending == .zero)
    }

    @Test func softLimitsAcceptAndReportEachThresholdOnce() {
        var book = Self.book(.soft, limit: 10, used: 7)
        guard case .charged(let charges) = book.charge([("calls", Quantity(5))], now: 1) else { Issue.record("refused"); return }
        let crossings = book.settle(charges, booked: true)
        #expect(crossings.map(\.threshold) == [80, 100])
        #expect(crossings.first?.periodStart == 0)
        guard case .charged(let more) = book.charge([("calls", Quantity(5))], now: 1) else { Issue.record("refused"); return }
        #expect(book.settle(more, booked: true).isEmpty)
        #expect(book.check("calls", amount: .zero, now: 1)?.overage == Quantity(7))
    }

    @Test func nonAdditiveMetersAreRefusedOnceTheLimitIsReached() {
        var below = Self.book(limit: 10, used: 9)
        below.lines["calls"]!.additive = false
        #expect(below.demands(of: [Self.reading(.number(Quantity(7)))], eventTime: 500).map(\.amount) == [.zero])
        #expect(below.charge([("calls", .zero)], now: 1) == .charged([.init(feature: "calls", amount: .zero)]))
        var at = Self.book(limit: 10, used: 10)
        at.lines["calls"]!.additive = false
        guard case .refused = at.charge([("calls", .zero)], now: 1) else { Issue.record("allowed"); return }
        // On an additive meter a zero reading adds nothing and always fits.
        var full = Self.book(limit: 10, used: 10)
        guard case .charged = full.charge([("calls", .zero)], now: 1) else { Issue.record("refused"); return }
    }

    @Test func reservationsHoldQuotaUntilUsedOrExpired() {
        var book = Self.book(limit: 10)
        guard case .charged = book.reserve("calls", amount: Quantity(8), until: 100, now: 1) else { Issue.record("refused"); return }
        #expect(book.check("calls", amount: Quantity(3), now: 2)?.allowed == false)
        // Usage the reservation covers is not checked again: it was allowed when reserved.
        guard case .charged(let charges) = book.charge([("calls", Quantity(5))], now: 3) else { Issue.record("refused"); return }
        #expect(charges.first?.fromReservation == Quantity(5))
        _ = book.settle(charges, booked: true)
        #expect(book.lines["calls"]!.reserved == Quantity(3))
        #expect(book.check("calls", amount: Quantity(2), now: 4)?.allowed == true)
        #expect(book.check("calls", amount: Quantity(3), now: 4)?.allowed == false)
        // Past its expiry the rest of the reservation is free again.
        #expect(book.check("calls", amount: Quantity(5), now: 100)?.allowed == true)
        guard case .refused = book.reserve("calls", amount: Quantity(6), until: 200, now: 100) else { Issue.record("allowed"); return }
    }

    /// A charge that is not booked (a duplicate, a failed commit) gives back what it drew from
    /// reservations, with their expiries, and the rest to the lease: a retried event does not
    /// use up the caller's promise.
    @Test func anUnbookedChargeGivesItsReservationsBack() {
        var book = Self.book(limit: 10)
        guard case .charged = book.reserve("calls", amount: Quantity(3), until: 50, now: 1),
              case .charged = book.reserve("calls", amount: Quantity(5), until: 100, now: 1)
        else { Issue.record("refused"); return }
        guard case .charged(let charges) = book.charge([("calls", Quantity(6))], now: 2) else { Issue.record("refused"); return }
        #expect(book.lines["calls"]!.reserved == Quantity(2))
        _ = book.settle(charges, booked: false)
        #expect(book.lines["calls"]!.reserved == Quantity(8))
        #expect(book.lines["calls"]!.pending == .zero)
        #expect(book.check("calls", amount: Quantity(2), now: 3)?.allowed == true)
        #expect(book.check("calls", amount: Quantity(3), now: 3)?.allowed == false)
        // Each part keeps its own expiry: the 3 lapse at 50, the 5 at 100.
        #expect(book.check("calls", amount: Quantity(5), now: 50)?.allowed == true)
        #expect(book.check("calls", amount: Quantity(6), now: 50)?.allowed == false)
        #expect(book.check("calls", amount: Quantity(10), now: 100)?.allowed == true)

        // Under a lease: the reserved part goes back to the reservation, the rest to the lease.
        var leased = Self.book(limit: 100, leased: true)
        leased.addLease("calls", amount: Quantity(10), validUntil: 60, reported: .zero)
        guard case .charged = leased.reserve("calls", amount: Quantity(4), until: 50, now: 1) else { Issue.record("refused"); return }
        guard case .charged(let drawn) = leased.charge([("calls", Quantity(7))], now: 2) else { Issue.record("refused"); return }
        #expect(leased.lines["calls"]!.lease == Quantity(3))
        _ = leased.settle(drawn, booked: false)
        #expect(leased.lines["calls"]!.lease == Quantity(6))
        #expect(leased.lines["calls"]!.reserved == Quantity(4))
        _ = leased.check("calls", amount: .zero, now: 50)  // the reservation lapses into the lease
        #expect(leased.lines["calls"]!.lease == Quantity(10))
    }

    @Test func leasedLinesSpendTheirLeaseAndAskForMore() {
        var book = Self.book(limit: 100, leased: true)
        #expect(book.charge([("calls", Quantity(3))], now: 1) == .needsLease(feature: "calls", amount: Quantity(3)))
        book.addLease("calls", amount: Quantity(5), validUntil: 60, reported: .zero)
        guard case .charged(let charges) = book.charge([("calls", Quantity(3))], now: 1) else { Issue.record("refused"); return }
        #expect(book.lines["calls"]!.lease == Quantity(2))
        #expect(book.charge([("calls", Quantity(3))], now: 1) == .needsLease(feature: "calls", amount: Quantity(1)))
        _ = book.settle(charges, booked: true)
        #expect(book.lines["calls"]!.unreported == Quantity(3))
        // A lapsed lease counts as empty until renewed.
        #expect(book.charge([("calls", Quantity(1))], now: 60) == .needsLease(feature: "calls", amount: Quantity(1)))
        book.addLease("calls", amount: Quantity(4), validUntil: 120, reported: Quantity(3))
        #expect(book.lines["calls"]!.unreported == .zero)
        #expect(book.lines["calls"]!.lease == Quantity(6))
        // A charge that is not booked gives its amount back to the lease.
        guard case .charged(let again) = book.charge([("calls", Quantity(6))], now: 61) else { Issue.record("refused"); return }
        _ = book.settle(again, booked: false)
        #expect(book.lines["calls"]!.lease == Quantity(6))
    }

    @Test(arguments: [
        // (before, after, event time, change): a void takes the event's demand back, an amendment
        // the difference; nothing for an event of another period or one that changes nothing.
        ([reading(.number(Quantity(7)))], [], Int64(500), [Quantity(-7)]),
        ([reading(.number(Quantity(7)))], [reading(.number(Quantity(9)))], 500, [Quantity(2)]),
        ([reading(.number(Quantity(7)))], [reading(.number(Quantity("2.5")!))], 500, [Quantity("-4.5")!]),
        ([reading(.none)], [], 500, [Quantity(-1)]),
        ([reading(.number(Quantity(7)))], [reading(.number(Quantity(7)))], 500, []),
        ([reading(.number(Quantity(7)))], [], -1, []),
        ([reading(.number(Quantity(7)), meter: "other")], [], 500, []),
    ] as [([MeterReading], [MeterReading], Int64, [Quantity])])
    func correctionsChangeWhatTheEventDemanded(before: [MeterReading], after: [MeterReading], eventTime: Int64, change: [Quantity]) {
        let changes = Self.book().correction(before: before, after: after, eventTime: eventTime)
        #expect(changes.map(\.amount) == change)
        #expect(changes.allSatisfy { $0.feature == "calls" })
    }

    @Test func aCorrectionCountsAtOnceAndIsOwedToTheLeasePool() {
        var book = Self.book(limit: 100, used: 40, leased: true)
        book.addLease("calls", amount: Quantity(5), validUntil: 60, reported: .zero)
        // A void of 7 booked earlier: usage drops, and the pool is owed -7 with the next report.
        #expect(book.correct([("calls", Quantity(-7))]).isEmpty)
        #expect(book.lines["calls"]!.used == Quantity(33))
        #expect(book.lines["calls"]!.unreported == Quantity(-7))
        // Bookings since add to it; the report takes exactly what was sent, even below zero.
        guard case .charged(let charges) = book.charge([("calls", Quantity(3))], now: 1) else { Issue.record("refused"); return }
        _ = book.settle(charges, booked: true)
        #expect(book.lines["calls"]!.unreported == Quantity(-4))
        book.addLease("calls", amount: .zero, validUntil: 90, reported: Quantity(-4))
        #expect(book.lines["calls"]!.unreported == .zero)
        // An unleased line follows in its view only.
        var local = Self.book(limit: 100, used: 40)
        _ = local.correct([("calls", Quantity(-7))])
        #expect(local.lines["calls"]!.used == Quantity(33))
        #expect(local.lines["calls"]!.unreported == .zero)
    }

    @Test func aRecomputedMeterIsOwedToThePoolButLeavesTheViewToTheReload() {
        var book = Self.book(limit: 100, used: 40, leased: true)
        book.owe([("calls", Quantity(-15)), ("unknown", Quantity(3))])
        #expect(book.lines["calls"]!.unreported == Quantity(-15))
        #expect(book.lines["calls"]!.used == Quantity(40))
        var local = Self.book(limit: 100, used: 40)
        local.owe([("calls", Quantity(-15))])
        #expect(local.lines["calls"]!.unreported == .zero)
    }

    @Test func anAmendmentPastTheLimitIsBookedAndReportsItsThresholds() {
        var book = Self.book(limit: 10, used: 7)
        let crossings = book.correct([("calls", Quantity(5))])
        #expect(crossings.map(\.threshold) == [80, 100])
        #expect(book.lines["calls"]!.used == Quantity(12))
        #expect(book.check("calls", amount: Quantity(1), now: 1)?.allowed == false)
    }

    @Test func negativeReadingsAreReportedToThePool() {
        var book = Self.book(limit: 100, leased: true)
        guard case .charged(let charges) = book.charge([("calls", Quantity(-2))], now: 1) else { Issue.record("refused"); return }
        _ = book.settle(charges, booked: true)
        #expect(book.lines["calls"]!.unreported == Quantity(-2))
    }

    @Test func aReloadKeepsThisNodesStateForTheSameWindow() {
        var old = Self.book(limit: 100, used: 10, leased: true)
        old.addLease("calls", amount: Quantity(20), validUntil: 60, reported: .zero)
        guard case .charged = old.charge([("calls", Quantity(4))], now: 1) else { Issue.record("refused"); return }
        var fresh = Self.book(limit: 100, used: 30, leased: true)
        fresh.carryOver(from: old, bookedSince: ["calls": Quantity(2)])
        let line = fresh.lines["calls"]!
        #expect(line.used == Quantity(32))
        #expect(line.pending == Quantity(4))
        #expect(line.lease == Quantity(16))
        // A new period starts from what the ledger says.
        var next = QuotaBook(lines: ["calls": QuotaBook.Line(
            feature: "calls", meter: "api-calls", spec: MeteredSpec(limit: Quantity(100)),
            window: PeriodWindow(start: 1_000, end: 2_000, resetsAt: 2_000), grants: [], used: .zero
        )])
        next.carryOver(from: old, bookedSince: ["calls": Quantity(2)])
        #expect(next.lines["calls"]!.used == .zero)
        #expect(next.lines["calls"]!.pending == .zero)
        #expect(old.isOutdated(now: 1_000))
        #expect(!old.isOutdated(now: 999))
    }
}

@Suite struct EntitlementSpecTests {
    static func field(_ json: JSONValue) -> String? {
        do {
            _ = try EntitlementSpec.parse(json, field: "e")
            return nil
        } catch {
            return error.field
        }
    }

    @Test func parsesEachKindAndRoundTrips() throws {
        let specs: [JSONValue] = [
            ["enabled": true], ["value": 25],
            ["limit": 1000], ["limit": "0.5", "period": "billing", "enforcement": "soft", "overage": true, "thresholds": [100, 50, 50]],
            ["limit": 10, "period": "rolling", "rolling_seconds": 3600],
        ]
        for json in specs {
            let spec = try EntitlementSpec.parse(json, field: "e")
            #expect(try EntitlementSpec.parse(spec.json, field: "e") == spec)
        }
        let soft = try EntitlementSpec.parse(specs[3], field: "e")
        #expect(soft == .metered(MeteredSpec(limit: Quantity("0.5")!, period: .billing, enforcement: .soft, overage: true, thresholds: [50, 100])))
        #expect(try EntitlementSpec.parse(["limit": 7], field: "e") == .metered(MeteredSpec(limit: Quantity(7))))
    }

    @Test func rejectsNamingTheField() {
        let cases: [(JSONValue, String)] = [
            (.string("x"), "e"), (["enabled": 1], "e.enabled"), (["enabled": true, "value": 1], "e.value"),
            (["limit": -1], "e.limit"), (["limit": "ten"], "e.limit"), (["limit": 1, "period": "week"], "e.period"),
            (["limit": 1, "period": "rolling"], "e.rolling_seconds"), (["limit": 1, "rolling_seconds": 3600], "e.rolling_seconds"),
            (["limit": 1, "period": "rolling", "rolling_seconds": 5], "e.rolling_seconds"), (["limit": 1, "enforcement": "strict"], "e.enforcement"),
            (["limit": 1, "overage": true], "e.overage"), (["limit": 1, "thresholds": [0]], "e.thresholds"),
            (["limit": 1, "thresholds": [50.5]], "e.thresholds"), (["limit": 1, "colour": "red"], "e.colour"), ([:], "e"),
        ]
        for (json, field) in cases {
            #expect(Self.field(json) == field, "\(json)")
        }
    }

    @Test func plansAndTenantAssignmentsResolve() throws {
        let plan = try Plan.parse([
            "key": "pro", "name": " Pro ",
            "entitlements": ["sso": ["enabled": true], "calls": ["limit": 100], "seats": ["value": 5]],
            "rate_limits": ["tenant_per_second": 200],
        ])
        #expect(plan.name == "Pro")
        #expect(plan.rateLimits == TenantRateLimits(tenantPerSecond: 200))
        let assignment = try TenantEntitlements.parse(
            ["plan": "pro", "overrides": ["calls": ["limit": 500], "sso": nil]], current: TenantEntitlements(anchor: 0)
        )
        let resolved = assignment.resolve(plan: plan)
        #expect(resolved["calls"] == .metered(MeteredSpec(limit: Quantity(500))))
        #expect(resolved["sso"] == nil)
        #expect(resolved["seats"] == .value(5))
        // Members left out keep their values; null clears the plan.
        let cleared = try TenantEntitlements.parse(["plan": nil], current: assignment)
        #expect(cleared.plan == nil)
        #expect(cleared.overrides.count == 2)
        #expect(cleared.resolve(plan: nil)["calls"] == .metered(MeteredSpec(limit: Quantity(500))))
        let bad: [(JSONValue, String)] = [
            (["key": "pro"], "name"), (["key": "Pro", "name": "P"], "key"), (["key": "pro", "name": "P", "price": 1], "price"),
            (["key": "pro", "name": "P", "entitlements": ["x1": ["limit": -1]]], "entitlements.x1.limit"),
            (["key": "pro", "name": "P", "rate_limits": ["tenant_per_second": 0]], "rate_limits.tenant_per_second"),
        ]
        for (json, field) in bad {
            do {
                _ = try Plan.parse(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.field == field)
            }
        }
    }
}

@Suite struct LeasedQuotaBookTests {
    @Test func theLeaseNotTheLocalViewBindsALeasedLine() {
        // This node's view says the limit is reached (other nodes' usage, or a view that errs
        // high); the lease it holds was granted by the pool, which knows better.
        var book = QuotaBookTests.book(limit: 10, used: 10, leased: true)
        book.addLease("calls", amount: Quantity(2), validUntil: 60, reported: .zero)
        guard case .charged = book.charge([("calls", Quantity(2))], now: 1) else { Issue.record("refused"); return }
        #expect(book.charge([("calls", Quantity(1))], now: 1) == .needsLease(feature: "calls", amount: Quantity(1)))
    }
}
