import Billing
import Core
import Metering
import Testing

/// Rating one period: usage charges, flat fees prorated for a period cut short, extra lines,
/// minimum commitment and tax; and the late-usage adjustments of periods already invoiced.
@Suite struct PeriodRatingTests {
    static let usd = Currency("USD")!
    func q(_ text: String) -> Quantity { Quantity(text)! }

    var plan: PricePlan {
        PricePlan(key: "p", name: "P", interval: .month, currency: Self.usd, charges: [
            .init(key: "base", description: "Base", meter: nil, model: .flat(q("30"))),
            .init(key: "calls", description: "Calls", meter: "calls", model: .graduated([.init(upTo: q("100"), unitPrice: q("0.10")), .init(upTo: nil, unitPrice: q("0.05"))]),
                  freeUnits: q("10")),
        ], minimumCommitment: Money(decimal: "40", currency: Self.usd))
    }

    @Test func aWholePeriodRatesUsageAndChargesTheFlatFeeWhole() throws {
        // 60 calls, 10 free: 50 × 0.10 = 5.00; base 30.00; subtotal 35.00 < minimum 40.00.
        let draft = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 2_592_000, nominalEnd: 2_592_000, usage: ["calls": q("60")], taxBasisPoints: 1_000)
        #expect(draft.lines.map(\.kind) == [.charge, .charge, .minimum, .tax])
        #expect(draft.lines.map(\.amount.minorUnits) == [3_000, 500, 500, 400])
        #expect(draft.lines[1].quantity == q("60") && draft.lines[1].charge == "calls" && draft.lines[1].periodStart == 0)
        #expect(draft.subtotal.minorUnits == 4_000 && draft.tax.minorUnits == 400 && draft.total.minorUnits == 4_400)
    }

    @Test func zeroUsageStillChargesTheFeeAndTheMinimum() throws {
        let draft = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 100, nominalEnd: 100, usage: [:], taxBasisPoints: 0)
        #expect(draft.lines.map(\.amount.minorUnits) == [3_000, 0, 1_000])
        #expect(draft.total.minorUnits == 4_000)
    }

    @Test func aPeriodCutShortProratesTheFlatFeeAndTheMinimumBySecond() throws {
        // A third of the period: base 10.00, minimum 13.33; usage is rated whole.
        let draft = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 1_000, nominalEnd: 3_000, usage: ["calls": q("20")], taxBasisPoints: 0)
        #expect(draft.lines.map(\.kind) == [.proration, .charge, .minimum])
        #expect(draft.lines[0].amount.minorUnits == 1_000 && draft.lines[0].description == "Base (prorated)")
        #expect(draft.lines[1].amount.minorUnits == 100)
        #expect(draft.subtotal.minorUnits == 1_333)
        // At the edges: a period cut to nothing charges nothing; one not cut charges the whole fee.
        let empty = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 0, nominalEnd: 3_000, usage: [:], taxBasisPoints: 0)
        #expect(empty.total.minorUnits == 0)
        let whole = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 3_000, nominalEnd: 3_000, usage: [:], taxBasisPoints: 0)
        #expect(whole.lines[0].kind == .charge && whole.lines[0].amount.minorUnits == 3_000)
    }

    @Test func extraLinesJoinBeforeTheMinimumAndTax() throws {
        let credit = InvoiceDraft.Line(kind: .proration, description: "Unused time", amount: Money(minorUnits: -1_500, currency: Self.usd))
        let late = InvoiceDraft.Line(kind: .adjustment, description: "Late", amount: Money(minorUnits: 7_000, currency: Self.usd), charge: "calls", periodStart: -100, periodEnd: 0)
        let draft = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 100, nominalEnd: 100, usage: ["calls": q("10")], extraLines: [credit, late], taxBasisPoints: 825)
        // 30.00 + 0.00 - 15.00 + 70.00 = 85.00 (over the minimum); tax 8.25 % = 7.0125 → 7.01.
        #expect(draft.subtotal.minorUnits == 8_500)
        #expect(draft.tax.minorUnits == 701)
        #expect(draft.total.minorUnits == 9_201)
        #expect(draft.total.minorUnits == draft.lines.reduce(0) { $0 + $1.amount.minorUnits })
    }

    @Test func lateUsageIsTheDifferenceFromWhatWasBilledAcrossEveryEarlierLine() throws {
        let billed = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 100, nominalEnd: 100, usage: ["calls": q("60")], taxBasisPoints: 0).lines
        // Nothing new: no adjustment.
        #expect(PeriodRating.lateUsage(plan: plan, periodStart: 0, periodEnd: 100, usage: ["calls": q("60")], billed: billed).isEmpty)
        // 60 → 150 calls (140 after the free 10): 100 × 0.10 + 40 × 0.05 = 12.00, was 5.00: +7.00,
        // across the tier boundary.
        let first = PeriodRating.lateUsage(plan: plan, periodStart: 0, periodEnd: 100, usage: ["calls": q("150")], billed: billed)
        #expect(first.count == 1)
        #expect(first[0].kind == .adjustment && first[0].amount.minorUnits == 700 && first[0].quantity == q("150"))
        #expect(first[0].periodStart == 0 && first[0].periodEnd == 100 && first[0].charge == "calls")
        // The adjustment counts as billed: a later look adds only what is new since, and a void
        // (fewer calls) credits back.
        #expect(PeriodRating.lateUsage(plan: plan, periodStart: 0, periodEnd: 100, usage: ["calls": q("150")], billed: billed + first).isEmpty)
        let credit = PeriodRating.lateUsage(plan: plan, periodStart: 0, periodEnd: 100, usage: ["calls": q("140")], billed: billed + first)
        #expect(credit.map(\.amount.minorUnits) == [-50])
    }

    @Test func moreUsageNeverCostsLessOnTheInvoice() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let a = Int.random(in: 0...5_000, using: &generator), b = Int.random(in: 0...5_000, using: &generator)
            let low = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 10, nominalEnd: 10, usage: ["calls": Quantity(min(a, b))], taxBasisPoints: 1_900)
            let high = try PeriodRating.draft(plan: plan, periodStart: 0, periodEnd: 10, nominalEnd: 10, usage: ["calls": Quantity(max(a, b))], taxBasisPoints: 1_900)
            #expect(low.total.minorUnits <= high.total.minorUnits)
            #expect(high.total.minorUnits == high.lines.reduce(0) { $0 + $1.amount.minorUnits })
        }
    }
}
