import Billing
import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

/// The billing CLI on the real binary: subscriptions, the billing run, invoices and credit notes.
@Suite struct BillingCommandTests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test(arguments: TestBackend.available)
    func subscriptionsBillingRunsAndInvoicesThroughTheCLI(backend: TestBackend) async throws {
        try await ProcessTests.withProcessEnvironment(backend) { settings, env in
            #expect(try await TallyProcess.run(["seed", "--dir", SeedCommandTests.configDir], env: env).status == 0)
            let tenant = try await TallyProcess.run(["tenants", "create", "--slug", "cli-billed", "--name", "CLI Billed", "--json"], env: env)
            let tenantID = try #require(Self.json(tenant.out)["id"] as? String, "\(tenant.err)")

            let account = try await TallyProcess.run(["billing", "set-account", tenantID, "--tax-rate", "19", "--time-zone", "Europe/Berlin"], env: env)
            #expect(Self.json(account.out)["tax_rate"] as? String == "19.00", "\(account.err)")
            let created = try await TallyProcess.run(["subscriptions", "create", "--tenant", tenantID, "--plan", "growth"], env: env)
            let subscription = Self.json(created.out)
            #expect(subscription["state"] as? String == "active" && subscription["time_zone"] as? String == "Europe/Berlin", "\(created.err)")
            let id = try #require(subscription["id"] as? String)
            let changed = try await TallyProcess.run(["subscriptions", "change-plan", id, "--plan", "starter"], env: env)
            #expect(Self.json(changed.out)["pending_plan"] as? String == "starter", "\(changed.err)")
            let listed = try await TallyProcess.run(["subscriptions", "list", "--tenant", tenantID], env: env)
            #expect(listed.out.contains(id) && listed.out.contains("growth@1  active"), "\(listed.out)")
            let shown = try await TallyProcess.run(["subscriptions", "show", id], env: env)
            #expect(((Self.json(shown.out)["audit"] as? [[String: Any]]) ?? []).compactMap { $0["action"] as? String } == ["created", "plan_change_scheduled"])
            let run = try await TallyProcess.run(["billing", "run"], env: env)
            #expect(Self.json(run.out)["failures"] as? Int == 0, "\(run.out) \(run.err)")
            let unknown = try await TallyProcess.run(["subscriptions", "create", "--tenant", tenantID, "--plan", "nope"], env: env)
            #expect(unknown.status == 1 && unknown.err.contains("[unknown_plan]"), "\(unknown.err)")

            // An issued invoice (written through the store: no month to wait), then the invoice commands.
            let invoiceID = try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                let scope = TenantScope(operatorActingOn: TenantID(tenantID)!)
                let current = try #require(try await storage.billing.subscription(SubscriptionID(id)!, in: scope))
                let eur = Currency("USD")!
                let draft = try InvoiceDraft(currency: eur, lines: [.init(kind: .charge, description: "Growth plan", amount: Money(minorUnits: 19_900, currency: eur))])
                var invoice = Invoice(id: .generate(), tenantID: scope.tenantID, subscriptionID: current.id, status: .draft, plan: current.plan,
                                      periodStart: current.periodStart, periodEnd: current.periodEnd, draft: draft, createdAt: current.periodStart, finalizeAt: current.periodEnd)
                #expect(try await storage.billing.recordPeriod(subscription: current, expectedRevision: current.revision, invoice: invoice, consumedLines: [], newPendingLines: [], audit: [], in: scope))
                invoice.status = .open
                _ = try #require(try await storage.billing.finalize(invoice, expectedRevision: 1, prefix: "INV", year: 2026, carry: [], audit: [], in: scope))
                return invoice.id.rawValue
            }
            let invoices = try await TallyProcess.run(["invoices", "list", "--status", "open"], env: env)
            #expect(invoices.out.contains(invoiceID) && invoices.out.contains("INV-2026-000001") && invoices.out.contains("due 199.00"), "\(invoices.out)")
            let credit = try await TallyProcess.run(["invoices", "credit", invoiceID, "--amount", "9.00", "--reason", "late start"], env: env)
            #expect(Self.json(credit.out)["number"] as? String == "CN-2026-000001", "\(credit.err)")
            let html = try await TallyProcess.run(["invoices", "show", invoiceID, "--html"], env: env)
            #expect(html.out.hasPrefix("<!doctype html>") && html.out.contains("CLI Billed") && html.out.contains("190.00 USD"))
            let paid = try await TallyProcess.run(["invoices", "mark-paid", invoiceID, "--reference", "wire 7"], env: env)
            #expect(Self.json(paid.out)["status"] as? String == "paid" && Self.json(paid.out)["payment_reference"] as? String == "wire 7", "\(paid.err)")
            let again = try await TallyProcess.run(["invoices", "void", invoiceID], env: env)
            #expect(again.status == 1 && again.err.contains("[conflict]"))
            let canceled = try await TallyProcess.run(["subscriptions", "cancel", id, "--at", "now"], env: env)
            #expect(Self.json(canceled.out)["state"] as? String == "canceled", "\(canceled.err)")

            // A dunning schedule from a file: a bad one stops the command, naming the step.
            let schedule = settings.dataDir + "/dunning.json"
            try #"[{"after_days": 2, "action": "remind"}, {"after_days": 1, "action": "cancel"}]"#.write(toFile: schedule, atomically: true, encoding: .utf8)
            var withSchedule = env
            withSchedule["TALLY_BILLING_DUNNING_FILE"] = schedule
            let refused = try await TallyProcess.run(["billing", "run"], env: withSchedule)
            #expect(refused.status == 78 && refused.err.contains("dunning[1].after_days"), "\(refused.err)")
            try #"[{"after_days": 2, "action": "remind"}, {"after_days": 20, "action": "cancel"}]"#.write(toFile: schedule, atomically: true, encoding: .utf8)
            #expect(try await TallyProcess.run(["billing", "run"], env: withSchedule).status == 0)
        }
    }
}
