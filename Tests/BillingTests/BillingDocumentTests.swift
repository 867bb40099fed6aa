import Billing
import Core
import Metering
import Testing

/// The stored and served forms of subscriptions, invoices, credit notes and billing settings,
/// and the printable invoice page.
@Suite struct BillingDocumentTests {
    static let usd = Currency("USD")!

    @Test func subscriptionsInvoicesAndCreditNotesRoundTrip() throws {
        let subscription = Subscription(
            id: .generate(), tenantID: .generate(), plan: .init(key: "pro", version: 3), state: .pastDue, anchor: 1_773_136_800, timeZone: "Europe/Berlin",
            trialEnd: 1_773_000_000, periodStart: 1_773_136_800, periodEnd: 1_775_815_200, cancelAtPeriodEnd: true, pendingPlan: .init(key: "max", version: 1),
            endedAt: nil, closed: false, createdAt: 1_772_000_000, updatedAt: 1_773_136_801, revision: 7
        )
        #expect(Subscription.parse(stored: subscription.json) == subscription)
        #expect(Subscription.parse(stored: .object(["id": "x"])) == nil)

        let lines = [
            InvoiceDraft.Line(kind: .charge, description: "Calls", amount: Money(minorUnits: 1_234, currency: Self.usd), charge: "calls", quantity: Quantity("12.5")!,
                              periodStart: 1_773_136_800, periodEnd: 1_775_815_200),
            InvoiceDraft.Line(kind: .proration, description: "Unused <time>", amount: Money(minorUnits: -200, currency: Self.usd)),
        ]
        let draft = try InvoiceDraft(currency: Self.usd, lines: lines, taxBasisPoints: 700)
        let invoice = Invoice(id: .generate(), tenantID: subscription.tenantID, subscriptionID: subscription.id, number: "INV-2026-000009", status: .open,
                              plan: subscription.plan, periodStart: 1_773_136_800, periodEnd: 1_775_000_000, fullPeriodEnd: 1_775_815_200, draft: draft,
                              credited: Money(minorUnits: 100, currency: Self.usd), createdAt: 1, finalizeAt: 2, finalizedAt: 3, dueAt: 4, paymentFailedAt: 5,
                              dunningDone: 2, paymentReference: "ref", revision: 4)
        #expect(Invoice.parse(stored: invoice.json) == invoice)
        #expect(invoice.amountDue.minorUnits == draft.total.minorUnits - 100)
        var paid = invoice
        paid.status = .paid
        #expect(paid.amountDue.minorUnits == 0)

        let note = CreditNote(id: .generate(), tenantID: subscription.tenantID, invoiceID: invoice.id, number: "CN-2026-000001",
                              amount: Money(minorUnits: 100, currency: Self.usd), reason: "goodwill", createdAt: 9)
        #expect(CreditNote.parse(stored: note.json) == note)
    }

    @Test func pricesRoundTripThroughTheirJSON() throws {
        let text = """
            {"key": "growth", "name": "Growth", "interval": "year", "currency": "EUR", "trial_days": 7, "minimum_commitment": "500.00",
             "charges": [{"key": "base", "type": "flat", "amount": "199.00"},
                         {"key": "calls", "type": "graduated", "meter": "calls", "free_units": "5", "tiers": [{"up_to": "100", "unit_price": "0.0004", "flat_fee": "1"}, {"up_to": null, "unit_price": "0.0001"}]},
                         {"key": "vol", "type": "volume", "meter": "v", "tiers": [{"up_to": null, "unit_price": "2"}]},
                         {"key": "gb", "type": "package", "meter": "gb", "package_size": "100", "price": "5.00"},
                         {"key": "fees", "type": "percentage", "meter": "pay", "percent": "2.9", "minimum": "0.30", "maximum": "25"}]}
            """
        let plan = try PricePlan.parse(try JSONParser.parse(Array(text.utf8)))
        var stored = plan
        stored.version = 4
        #expect(try PricePlan.parse(stored.json) == stored)
        #expect(plan.flatFee.minorUnits == 19_900)
    }

    @Test func billingSettingsParseTaxRatesExactly() throws {
        func parse(_ json: JSONValue) throws -> BillingAccount { try BillingAccount.parse(json, current: BillingAccount()) }
        #expect(try parse(["tax_rate": "8.25"]).taxBasisPoints == 825)
        #expect(try parse(["tax_rate": "19"]).taxBasisPoints == 1_900)
        #expect(try parse(["tax_rate": "7.5"]).taxBasisPoints == 750)
        #expect(try parse(["tax_rate": "100.00", "time_zone": "Asia/Kolkata"]) == BillingAccount(taxBasisPoints: 10_000, timeZone: "Asia/Kolkata"))
        #expect(BillingAccount(taxBasisPoints: 825).json == ["tax_rate": "8.25", "time_zone": "UTC"])
        for bad: JSONValue in [["tax_rate": "100.01"], ["tax_rate": "-1"], ["tax_rate": "8.255"], ["tax_rate": 8], ["tax_rate": ".5"], ["tax_rate": "8."]] {
            #expect(throws: TallyError.self) { try parse(bad) }
        }
        do {
            _ = try parse(["time_zone": "Nowhere/Special"])
            Issue.record("an unknown zone was accepted")
        } catch let error as TallyError {
            #expect(error.field == "time_zone")
        }
        do {
            _ = try parse(["tax": "1"])
            Issue.record("an unknown member was accepted")
        } catch let error as TallyError {
            #expect(error.field == "tax")
        }
    }

    @Test func thePrintablePageEscapesEveryText() throws {
        let usd = Self.usd
        let draft = try InvoiceDraft(currency: usd, lines: [.init(kind: .charge, description: "<script>alert(1)</script>", amount: Money(minorUnits: 500, currency: usd))])
        let invoice = Invoice(id: .generate(), tenantID: .generate(), subscriptionID: .generate(), number: "INV-2026-000002", status: .open,
                              plan: .init(key: "p", version: 1), periodStart: 1_773_136_800, periodEnd: 1_775_815_200, draft: draft, createdAt: 0, finalizeAt: 0)
        let html = InvoicePage.html(invoice, creditNotes: [], tenantName: "Acme & \"Sons\"")
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("Acme &amp; &quot;Sons&quot;"))
        #expect(html.contains("INV-2026-000002") && html.contains("5.00 USD") && html.contains("2026-03-10 – 2026-04-10"))
    }
}
