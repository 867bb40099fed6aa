import Billing
import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// The billing driver contract on every backend: versioned prices, one live subscription per
/// tenant, revision-checked writes, a period invoiced once, gapless numbers, tenant isolation.
@Suite struct BillingStoreConformanceTests {
    static let usd = Currency("USD")!

    func tenant(_ store: any PlatformStore, _ slug: String) async throws -> TenantScope {
        let now = Date()
        let tenant = Tenant(id: .generate(), slug: slug, name: slug, status: .active, settings: [:], createdAt: now, updatedAt: now)
        try await store.insertTenant(tenant)
        return TenantScope(credentialTenant: tenant.id)
    }

    static func plan(_ key: String = "pro", fee: String = "10") -> PricePlan {
        PricePlan(key: key, name: key, interval: .month, currency: usd, charges: [
            .init(key: "base", description: "Base", meter: nil, model: .flat(Quantity(fee)!)),
            .init(key: "calls", description: "Calls", meter: "calls", model: .perUnit(Quantity("0.01")!)),
        ])
    }

    static func subscription(_ scope: TenantScope, start: Int64 = 1_800_000_000) -> Subscription {
        Subscription(id: .generate(), tenantID: scope.tenantID, plan: .init(key: "pro", version: 1), state: .active, anchor: start, timeZone: "UTC",
                     trialEnd: nil, periodStart: start, periodEnd: start + 2_592_000, createdAt: start, updatedAt: start)
    }

    static func invoice(for subscription: Subscription, amount: Int64 = 1_000) throws -> Invoice {
        let draft = try InvoiceDraft(currency: usd, lines: [.init(kind: .charge, description: "Base", amount: Money(minorUnits: amount, currency: usd), charge: "base")])
        return Invoice(id: .generate(), tenantID: subscription.tenantID, subscriptionID: subscription.id, status: .draft, plan: subscription.plan,
                       periodStart: subscription.periodStart, periodEnd: subscription.periodEnd, draft: draft, createdAt: subscription.periodEnd,
                       finalizeAt: subscription.periodEnd + 3_600)
    }

    @Test(arguments: TestBackend.available)
    func pricesAreVersionedPerKey(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            let first = try await store.insertPrices(Self.plan(), at: 1)
            let second = try await store.insertPrices(Self.plan(fee: "12"), at: 2)
            _ = try await store.insertPrices(Self.plan("basic"), at: 3)
            #expect(first.version == 1 && second.version == 2)
            #expect(try await store.priceVersions(of: "pro") == [first, second])
            #expect(try await store.prices(of: "pro", version: nil) == second)
            #expect(try await store.prices(of: "pro", version: 1) == first)
            #expect(try await store.prices(of: "pro", version: 3) == nil)
            #expect(try await store.latestPrices().map { "\($0.key)@\($0.version)" } == ["basic@1", "pro@2"])
        }
    }

    @Test(arguments: TestBackend.available)
    func oneLiveSubscriptionPerTenantAndRevisionCheckedWrites(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            let a = try await tenant(storage.store, "bill-a"), b = try await tenant(storage.store, "bill-b")
            let subscription = Self.subscription(a)
            try await store.insertSubscription(subscription, audit: [], in: a)
            do {
                try await store.insertSubscription(Self.subscription(a), audit: [], in: a)
                Issue.record("a second live subscription was accepted")
            } catch let error as TallyError {
                #expect(error.code.rawValue == "subscription_exists" && error.code.status == 409)
            }
            // Tenant isolation: b cannot see or write a's subscription.
            #expect(try await store.subscription(subscription.id, in: b) == nil)
            #expect(try await store.subscriptions(in: b, limit: 10, before: nil).isEmpty)
            #expect(try await store.updateSubscription(subscription, expectedRevision: 1, pendingLines: [], audit: [], in: b) == false)
            #expect(try await store.subscription(subscription.id, in: nil) == subscription)

            var canceled = subscription
            canceled.state = .canceled
            let entry = BillingAuditEntry(at: 5, tenantID: a.tenantID, subject: .subscription, subjectID: subscription.id.rawValue, action: "canceled",
                                          from: "active", to: "canceled", actor: "test")
            #expect(try await store.updateSubscription(canceled, expectedRevision: 1, pendingLines: [], audit: [entry], in: a))
            // The stale revision loses and changes nothing.
            #expect(try await store.updateSubscription(subscription, expectedRevision: 1, pendingLines: [], audit: [], in: a) == false)
            #expect(try await store.subscription(subscription.id, in: a)?.state == .canceled)
            #expect(try await store.subscription(subscription.id, in: a)?.revision == 2)
            #expect(try await store.audit(of: subscription.id.rawValue, in: a) == [entry])
            #expect(try await store.audit(of: subscription.id.rawValue, in: b).isEmpty)
            // Over, it no longer blocks a new one.
            try await store.insertSubscription(Self.subscription(a), audit: [], in: a)
        }
    }

    @Test(arguments: TestBackend.available)
    func aPeriodIsInvoicedOnceAndPendingLinesAreTakenOnce(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            let a = try await tenant(storage.store, "bill-run")
            let subscription = Self.subscription(a)
            try await store.insertSubscription(subscription, audit: [], in: a)
            let credit = InvoiceDraft.Line(kind: .proration, description: "Unused time", amount: Money(minorUnits: -250, currency: Self.usd))
            #expect(try await store.updateSubscription(subscription, expectedRevision: 1, pendingLines: [credit], audit: [], in: a))
            let pending = try await store.pendingLines(of: [subscription])[subscription.id] ?? []
            #expect(pending.map(\.line) == [credit])
            #expect(try await store.dueSubscriptions(now: subscription.periodEnd - 1, limit: 10).isEmpty)
            #expect(try await store.dueSubscriptions(now: subscription.periodEnd, limit: 10).map(\.id) == [subscription.id])

            var moved = subscription
            moved.periodStart = subscription.periodEnd
            moved.periodEnd = subscription.periodEnd + 2_592_000
            let invoice = try Self.invoice(for: subscription)
            #expect(try await store.recordPeriod(subscription: moved, expectedRevision: 2, invoice: invoice, consumedLines: pending.map(\.id), newPendingLines: [], audit: [], in: a))
            #expect(try await store.pendingLines(of: [subscription]).isEmpty)
            // A second run that read the old revision writes nothing, not even a second invoice.
            #expect(try await store.recordPeriod(subscription: moved, expectedRevision: 2, invoice: try Self.invoice(for: subscription), consumedLines: [], newPendingLines: [], audit: [], in: a) == false)
            // Even with the right revision, the same period cannot be invoiced twice.
            #expect(try await store.recordPeriod(subscription: moved, expectedRevision: 3, invoice: try Self.invoice(for: subscription), consumedLines: [], newPendingLines: [], audit: [], in: a) == false)
            #expect(try await store.subscription(subscription.id, in: a)?.revision == 3)
            #expect(try await store.invoices(in: a, status: nil, subscription: subscription.id, limit: 10, before: nil) == [invoice])
            #expect(try await store.invoices(in: a, status: .open, subscription: nil, limit: 10, before: nil).isEmpty)
            #expect(try await store.dueDrafts(now: invoice.finalizeAt - 1, limit: 10).isEmpty)
            #expect(try await store.dueDrafts(now: invoice.finalizeAt, limit: 10) == [invoice])
        }
    }

    @Test(arguments: TestBackend.available)
    func finalizingNumbersGaplesslyUnderConcurrency(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            var drafts: [(Invoice, TenantScope)] = []
            for index in 0..<8 {
                let scope = try await tenant(storage.store, "num-\(index)")
                let subscription = Self.subscription(scope)
                try await store.insertSubscription(subscription, audit: [], in: scope)
                let invoice = try Self.invoice(for: subscription)
                var moved = subscription
                moved.closed = true
                #expect(try await store.recordPeriod(subscription: moved, expectedRevision: 1, invoice: invoice, consumedLines: [], newPendingLines: [], audit: [], in: scope))
                drafts.append((invoice, scope))
            }
            // Every draft finalized twice at once: each gets exactly one number, with no gaps.
            let numbers = try await withThrowingTaskGroup(of: String?.self) { group in
                for (draft, scope) in drafts {
                    for _ in 0..<2 {
                        group.addTask {
                            var open = draft
                            open.status = .open
                            open.finalizedAt = draft.finalizeAt
                            return try await store.finalize(open, expectedRevision: 1, prefix: "INV", year: 2027, carry: [], audit: [], in: scope)?.number
                        }
                    }
                }
                var out: [String] = []
                for try await number in group { if let number { out.append(number) } }
                return out
            }
            #expect(numbers.count == 8)
            let stored = try await store.invoices(in: nil, status: .open, subscription: nil, limit: 100, before: nil).compactMap(\.number).sorted()
            // Losing finalizations rolled back their number: the sequence has no holes.
            #expect(stored == (1...8).map { InvoiceNumber(year: 2027, sequence: $0).description })

            // Credit notes take their own sequence and move the invoice's credited total.
            let (first, scope) = drafts[0]
            var open = try #require(try await store.invoice(first.id, in: scope))
            open.credited = Money(minorUnits: 300, currency: Self.usd)
            let note = CreditNote(id: .generate(), tenantID: scope.tenantID, invoiceID: first.id, number: "", amount: Money(minorUnits: 300, currency: Self.usd),
                                  reason: "goodwill", createdAt: 9)
            let stored1 = try await store.insertCreditNote(note, invoice: open, expectedRevision: open.revision, prefix: "CN", year: 2027, audit: [], in: scope)
            #expect(stored1?.number == "CN-2027-000001")
            #expect(try await store.insertCreditNote(note, invoice: open, expectedRevision: open.revision, prefix: "CN", year: 2027, audit: [], in: scope) == nil)
            #expect(try await store.creditNotes(of: first.id, in: scope).map(\.number) == ["CN-2027-000001"])
            #expect(try await store.invoice(first.id, in: scope)?.credited.minorUnits == 300)
            #expect(try await store.creditNotes(of: first.id, in: drafts[1].1).isEmpty)
        }
    }

    @Test(arguments: TestBackend.available)
    func accountsAndOverdueInvoices(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            let a = try await tenant(storage.store, "acct-a")
            #expect(try await store.account(in: a) == nil)
            try await store.setAccount(BillingAccount(taxBasisPoints: 825, timeZone: "Europe/Berlin"), in: a, at: 1)
            try await store.setAccount(BillingAccount(taxBasisPoints: 1_900, timeZone: "Europe/Berlin"), in: a, at: 2)
            #expect(try await store.account(in: a) == BillingAccount(taxBasisPoints: 1_900, timeZone: "Europe/Berlin"))

            let subscription = Self.subscription(a)
            try await store.insertSubscription(subscription, audit: [], in: a)
            let invoice = try Self.invoice(for: subscription)
            #expect(try await store.recordPeriod(subscription: subscription, expectedRevision: 1, invoice: invoice, consumedLines: [], newPendingLines: [], audit: [], in: a))
            var open = invoice
            open.status = .open
            open.dueAt = 5_000_000_000
            let finalized = try #require(try await store.finalize(open, expectedRevision: 1, prefix: "INV", year: 2027, carry: [], audit: [], in: a))
            #expect(try await store.invoicesInDunning(now: 4_999_999_999, limit: 10).isEmpty)
            #expect(try await store.invoicesInDunning(now: 5_000_000_000, limit: 10).map(\.id) == [invoice.id])
            var paid = finalized
            paid.status = .paid
            var pastDue = try #require(try await store.subscription(subscription.id, in: a))
            pastDue.state = .active
            #expect(try await store.updateInvoice(paid, expectedRevision: finalized.revision, subscription: (pastDue, 99), audit: [], in: a) == false)
            #expect(try await store.invoice(invoice.id, in: a)?.status == .open)
            #expect(try await store.updateInvoice(paid, expectedRevision: finalized.revision, subscription: (pastDue, pastDue.revision), audit: [], in: a))
            #expect(try await store.invoicesInDunning(now: 5_000_000_000, limit: 10).isEmpty)
        }
    }

    @Test(arguments: TestBackend.available)
    func batchedStepsAreAllOrNothingAndBatchedReadsSeeOnlyTheNamedTenants(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.billing
            var scopes: [TenantScope] = []
            var subscriptions: [Subscription] = []
            for index in 0..<3 {
                let scope = try await tenant(storage.store, "batch-\(index)")
                let subscription = Self.subscription(scope)
                try await store.insertSubscription(subscription, audit: [], in: scope)
                scopes.append(scope)
                subscriptions.append(subscription)
            }
            try await store.setAccount(BillingAccount(taxBasisPoints: 700), in: scopes[1], at: 1)
            let accounts = try await store.accounts(of: [scopes[0], scopes[1]])
            #expect(accounts.count == 1 && accounts[scopes[1].tenantID]?.taxBasisPoints == 700)

            func record(_ index: Int, revision: Int = 1) throws -> BillingPeriodRecord {
                var moved = subscriptions[index]
                moved.periodStart = moved.periodEnd
                moved.periodEnd += 2_592_000
                let entry = BillingAuditEntry(at: 7, tenantID: scopes[index].tenantID, subject: .subscription, subjectID: moved.id.rawValue, action: "billed",
                                              from: nil, to: nil, actor: "test")
                return BillingPeriodRecord(subscription: moved, expectedRevision: revision, invoice: try Self.invoice(for: subscriptions[index]), audit: [entry],
                                           scope: scopes[index])
            }
            // One stale step spoils the batch: nothing of it is written.
            #expect(try await store.recordPeriods([try record(0), try record(1, revision: 5)]) == false)
            #expect(try await store.invoices(in: nil, status: nil, subscription: nil, limit: 10, before: nil).isEmpty)
            #expect(try await store.subscription(subscriptions[0].id, in: scopes[0])?.revision == 1)
            // A step naming another tenant's scope is refused too.
            var foreign = try record(2)
            foreign.scope = scopes[0]
            #expect(try await store.recordPeriods([foreign]) == false)
            // A good batch is written whole, audit included.
            #expect(try await store.recordPeriods([try record(0), try record(1)]))
            #expect(try await store.invoices(in: nil, status: .draft, subscription: nil, limit: 10, before: nil).count == 2)
            #expect(try await store.subscription(subscriptions[1].id, in: scopes[1])?.revision == 2)
            #expect(try await store.audit(of: subscriptions[0].id.rawValue, in: scopes[0]).map(\.action) == ["billed"])
            let fetched = try await store.invoices(of: subscriptions, since: 0)
            #expect(fetched[subscriptions[0].id]?.count == 1 && fetched[subscriptions[1].id]?.count == 1 && fetched[subscriptions[2].id] == nil)
            var impostor = subscriptions[1]
            impostor.tenantID = scopes[0].tenantID
            #expect(try await store.invoices(of: [impostor], since: 0).isEmpty)
            #expect(try await store.invoices(of: subscriptions, since: subscriptions[0].periodStart + 1).isEmpty)
            // The same periods again (a second run that read the old revisions) write nothing.
            #expect(try await store.recordPeriods([try record(0, revision: 2), try record(2)]) == false)
            #expect(try await store.invoices(in: nil, status: nil, subscription: nil, limit: 10, before: nil).count == 2)
            #expect(try await store.subscription(subscriptions[2].id, in: scopes[2])?.revision == 1)
        }
    }
}
