import Core
import Entitlements
import Foundation
import Metering
import Platform
import Storage
import TallyTestSupport
import Testing

@Suite struct EntitlementStoreConformanceTests {
    @Test(arguments: TestBackend.available)
    func featuresAreStoredOncePerKey(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let calls = Feature(key: "api-calls", name: "API calls", kind: .metered, meter: "calls")
            let sso = Feature(key: "sso", name: "Single sign-on", kind: .boolean)
            try await storage.entitlements.insertFeature(sso, at: Date())
            try await storage.entitlements.insertFeature(calls, at: Date())
            #expect(try await storage.entitlements.features() == [calls, sso])
            #expect(try await storage.entitlements.feature(key: "sso") == sso)
            #expect(try await storage.entitlements.feature(key: "nope") == nil)
            do {
                try await storage.entitlements.insertFeature(Feature(key: "sso", name: "Other", kind: .static), at: Date())
                Issue.record("a taken key was accepted")
            } catch let error as TallyError {
                #expect(error.code == .conflict && error.field == "key")
            }
            #expect(try await storage.entitlements.feature(key: "sso") == sso)
        }
    }
}

/// Plans, assignments, grants and notifications, and the quota book loaded from them, on
/// every backend.
@Suite struct EntitlementConformanceTests {
    func tenant(_ store: any PlatformStore, _ slug: String) async throws -> TenantScope {
        let now = Date()
        let tenant = Tenant(id: .generate(), slug: slug, name: slug, status: .active, settings: [:], createdAt: now, updatedAt: now)
        try await store.insertTenant(tenant)
        return TenantScope(credentialTenant: tenant.id)
    }

    @Test(arguments: TestBackend.available)
    func plansAssignmentsGrantsAndNotificationsRoundTrip(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.entitlements
            try await store.insertFeature(Feature(key: "calls", name: "Calls", kind: .metered, meter: "calls"), at: Date())
            var plan = Plan(key: "pro", name: "Pro", entitlements: [
                "calls": .metered(MeteredSpec(limit: Quantity("1000.25")!, period: .rolling(seconds: 3600), enforcement: .soft, overage: true, thresholds: [90])),
                "sso": .boolean(true), "seats": .value(["max": 5]),
            ], rateLimits: TenantRateLimits(tenantPerSecond: 50))
            try await store.insertPlan(plan, at: Date())
            #expect(try await store.plan(key: "pro") == plan)
            await #expect(throws: TallyError.self) { try await store.insertPlan(plan, at: Date()) }
            plan.name = "Pro 2"
            plan.entitlements["sso"] = nil
            #expect(try await store.updatePlan(plan, at: Date()))
            #expect(try await store.plans() == [plan])
            #expect(try await !store.updatePlan(Plan(key: "nope", name: "N"), at: Date()))

            let a = try await tenant(storage.store, "ent-a"), b = try await tenant(storage.store, "ent-b")
            #expect(try await store.tenantEntitlements(in: a) == nil)
            let overrides: [String: EntitlementSpec?] = ["calls": .metered(MeteredSpec(limit: Quantity(5))), "seats": Optional<EntitlementSpec>.none]
            let assignment = TenantEntitlements(plan: "pro", overrides: overrides, anchor: 1_700_000_040)
            try await store.setTenantEntitlements(assignment, in: a, at: Date())
            #expect(try await store.tenantEntitlements(in: a) == assignment)
            #expect(try await store.tenantEntitlements(in: b) == nil)
            do {
                try await store.setTenantEntitlements(TenantEntitlements(plan: "nope", anchor: 0), in: b, at: Date())
                Issue.record("an unknown plan was accepted")
            } catch let error as TallyError {
                #expect(error.field == "plan")
            }
            #expect(try await store.tenantEntitlements(in: b) == nil)

            let grant = GrantDefinition(id: GrantID.generate().rawValue, feature: "calls", amount: Quantity("2.5")!, priority: -3, effectiveAt: 10,
                                        expiresAt: 99, recurring: true, rolloverCap: Quantity(1), reason: "welcome")
            try await store.insertGrant(grant, in: a, at: Date())
            #expect(try await store.grants(in: a) == [grant])
            #expect(try await store.grants(in: b).isEmpty)
            do {
                try await store.insertGrant(GrantDefinition(id: GrantID.generate().rawValue, feature: "nope", amount: Quantity(1), effectiveAt: 0), in: a, at: Date())
                Issue.record("a grant of an unknown feature was accepted")
            } catch let error as TallyError {
                #expect(error.field == "feature")
            }
            #expect(try await store.voidGrant(grant.id, in: b, at: 50) == nil)
            #expect(try await store.voidGrant(grant.id, in: a, at: 50)?.voidedAt == 50)
            #expect(try await store.voidGrant(grant.id, in: a, at: 60)?.voidedAt == 50)  // the first time stays

            let crossing = QuotaBook.ThresholdCrossing(feature: "calls", periodStart: 100, threshold: 80, used: Quantity("8.5")!, limit: Quantity(10))
            #expect(try await store.recordCrossings([crossing], in: a, at: Date()) == [crossing])
            var next = crossing
            next.threshold = 100
            #expect(try await store.recordCrossings([crossing, next], in: a, at: Date()) == [next])
            #expect(try await store.recordCrossings([crossing], in: b, at: Date()) == [crossing])  // per tenant
            #expect(Set(try await store.thresholdNotifications(in: a, limit: 10).map(\.crossing.threshold)) == [80, 100])
            #expect(try await store.thresholdNotifications(in: a, limit: 1).count == 1)
        }
    }

    /// The book's usage is the ledger's, per period, with grants drawn over past periods.
    @Test(arguments: TestBackend.available)
    func theLoadedBookCountsTheLedgersUsage(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await tenant(storage.store, "book")
            let meter = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "n")
            let version = try await storage.ledger.insertMeter(meter, in: scope, at: Date()).version
            try await storage.entitlements.insertFeature(Feature(key: "tokens", name: "Tokens", kind: .metered, meter: "tokens"), at: Date())
            try await storage.entitlements.insertPlan(Plan(key: "p", name: "P", entitlements: ["tokens": .metered(MeteredSpec(limit: Quantity(100)))]), at: Date())
            try await storage.entitlements.setTenantEntitlements(TenantEntitlements(plan: "p", anchor: 0), in: scope, at: Date())
            // A one-off grant of 50 from 1 October; October uses 130 (30 of the grant), November 20 + 0.5.
            let october: Int64 = 1_790_812_800  // 2026-10-01T00:00:00Z
            let november: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z
            try await storage.entitlements.insertGrant(
                GrantDefinition(id: GrantID.generate().rawValue, feature: "tokens", amount: Quantity(50), effectiveAt: october), in: scope, at: Date()
            )
            var entries: [LedgerEntry] = []
            for (index, (time, value)) in [(october + 60, "100"), (october + 86_400 * 20, "30"), (november + 5, "20"), (november + 7_200, "0.5")].enumerated() {
                let event = UsageEvent(id: "e\(index)", source: "//t", type: "llm", subject: nil, time: time * 1_000_000, data: ["n": .string(value)])
                let readings = [try #require(try meter.reading(of: event)?.get())]
                entries.append(LedgerEntry(tenantID: scope.tenantID, event: event, receivedAt: time * 1_000_000, readings: readings, catalogVersion: version))
            }
            _ = try await storage.ledger.append(entries)
            let book = try await EntitlementService.loadBook(scope.tenantID, now: november + 86_400, store: storage.entitlements, ledger: storage.ledger)
            let line = try #require(book.lines["tokens"])
            #expect(line.used == Quantity("20.5")!)
            #expect(line.window == PeriodWindow(start: november, end: 1_796_083_200, resetsAt: 1_796_083_200))
            #expect(line.grants.map(\.amount) == [Quantity(20)])
            #expect(line.total == Quantity(120))
            #expect(try await storage.ledger.meterTotals(in: scope, meter: "tokens", fromWindow: october, toWindow: november) == (2, Quantity(130)))
        }
    }
}
