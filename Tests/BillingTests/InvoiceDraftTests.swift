import Billing
import Core
import Testing

@Suite struct InvoiceDraftTests {
    let usd = Currency("USD")!
    func line(_ kind: InvoiceDraft.LineKind, _ cents: Int64) -> InvoiceDraft.Line {
        InvoiceDraft.Line(kind: kind, description: kind.rawValue, amount: Money(minorUnits: cents, currency: usd))
    }

    @Test func taxMinimumAndTotals() throws {
        let invoice = try InvoiceDraft(currency: usd, lines: [line(.charge, 4_900), line(.charge, 1_234), line(.proration, -500)], taxBasisPoints: 1_900)
        #expect(invoice.subtotal.minorUnits == 5_634)
        #expect(invoice.tax.minorUnits == 1_070)  // 19 % of 56.34 = 10.7046 → 10.70
        #expect(invoice.total.minorUnits == 6_704)
        #expect(invoice.lines.last?.description == "Tax 19.00 %")

        let minimum = try InvoiceDraft(currency: usd, lines: [line(.charge, 1_000)], minimumCommitment: Money(minorUnits: 5_000, currency: usd), taxBasisPoints: 825)
        #expect(minimum.lines.map(\.kind) == [.charge, .minimum, .tax])
        #expect(minimum.lines[1].amount.minorUnits == 4_000 && minimum.subtotal.minorUnits == 5_000)
        #expect(minimum.tax.minorUnits == 413)  // 8.25 % of 50.00 = 4.125 → 4.13
        #expect(minimum.total.minorUnits == 5_413)

        // Proration beyond the charges: no negative tax.
        let prorated = try InvoiceDraft(currency: usd, lines: [line(.charge, 100), line(.proration, -300)], taxBasisPoints: 2_000)
        #expect(prorated.tax.minorUnits == 0 && prorated.total.minorUnits == -200)

        // Credits apply after tax, never below zero; the rest carries over.
        let credited = try InvoiceDraft(currency: usd, lines: [line(.credit, -3_000), line(.charge, 10_000), line(.credit, -9_000)], taxBasisPoints: 1_000)
        #expect(credited.subtotal.minorUnits == 10_000 && credited.tax.minorUnits == 1_000)
        #expect(credited.lines.filter { $0.kind == .credit }.map(\.amount.minorUnits) == [-3_000, -8_000])
        #expect(credited.credits.minorUnits == -11_000 && credited.total.minorUnits == 0 && credited.carriedCredit.minorUnits == 1_000)
        let small = try InvoiceDraft(currency: usd, lines: [line(.charge, 500), line(.credit, -200)])
        #expect(small.total.minorUnits == 300 && small.carriedCredit.minorUnits == 0)
    }

    @Test func theTotalIsAlwaysTheSumOfTheLines() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let lines = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                line([.charge, .proration, .credit, .adjustment].randomElement(using: &generator)!, Int64.random(in: -100_000...1_000_000, using: &generator))
            }
            let minimum = Bool.random(using: &generator) ? Money(minorUnits: Int64.random(in: 0...500_000, using: &generator), currency: usd) : nil
            let invoice = try InvoiceDraft(currency: usd, lines: lines, minimumCommitment: minimum, taxBasisPoints: Int.random(in: 0...3_000, using: &generator))
            #expect(invoice.total.minorUnits == invoice.lines.reduce(0) { $0 + $1.amount.minorUnits })
            #expect(invoice.total.minorUnits == invoice.subtotal.minorUnits + invoice.tax.minorUnits + invoice.credits.minorUnits)
            #expect(invoice.credits.minorUnits <= 0 && invoice.carriedCredit.minorUnits >= 0)
            let granted = lines.filter { $0.kind == .credit }.reduce(Int64(0)) { $0 + max(0, -$1.amount.minorUnits) }
            #expect(-invoice.credits.minorUnits + invoice.carriedCredit.minorUnits == granted)
            if granted > 0 && invoice.carriedCredit.minorUnits > 0 { #expect(invoice.total.minorUnits <= 0) }
            if let minimum { #expect(invoice.subtotal.minorUnits >= minimum.minorUnits) }
        }
    }

    @Test func mixedCurrenciesAndBadRatesAreRefused() {
        let eur = Currency("EUR")!
        #expect(throws: TallyError.self) { try InvoiceDraft(currency: self.usd, lines: [InvoiceDraft.Line(kind: .charge, description: "x", amount: .zero(eur))]) }
        #expect(throws: TallyError.self) { try InvoiceDraft(currency: self.usd, lines: [], taxBasisPoints: 10_001) }
    }

    @Test func invoiceNumbersAreGaplessAndParse() {
        #expect(InvoiceNumber(year: 2026, sequence: 123).description == "INV-2026-000123")
        #expect(InvoiceNumber(year: 2026, sequence: 1_234_567).description == "INV-2026-1234567")
        #expect(InvoiceNumber("INV-2026-000123") == InvoiceNumber(year: 2026, sequence: 123))
        #expect(InvoiceNumber("ACME-2027-000001")?.prefix == "ACME")
        for bad in ["INV-26-000123", "INV-2026-123", "INV-2026-00012x", "INV2026000123", "-2026-000001", "INV-2026-000000"] {
            #expect(InvoiceNumber(bad) == nil, "\(bad)")
        }
    }
}
