import Core
import Metering

/// Rates one subscription period into an invoice draft, and finds the late usage of periods
/// already invoiced. Pure: the billing run reads the meter totals and the earlier invoices and
/// hands them in.
///
/// Rules (docs/BILLING.md):
/// - Usage charges rate the meter's exact total for the period, each line rounded once.
/// - Flat fees and the minimum commitment are for a whole period; a period cut short (the
///   subscription canceled now) charges them by the second for the part it lasted.
/// - Adjustments (late usage of earlier periods) and pending credits (proration) are added as
///   their own lines; then the minimum commitment, then tax on the subtotal.
public enum PeriodRating {
    public static func draft(
        plan: PricePlan, periodStart: Int64, periodEnd: Int64, nominalEnd: Int64, usage: [String: Quantity], eventValues: [String: [Quantity]] = [:],
        extraLines: [InvoiceDraft.Line] = [], taxBasisPoints: Int
    ) throws -> InvoiceDraft {
        let cutShort = periodEnd < nominalEnd && nominalEnd > periodStart
        let prorate = { (amount: Money) in
            cutShort ? Proration.share(of: amount, seconds: periodEnd - periodStart, periodSeconds: nominalEnd - periodStart) : amount
        }
        var lines = plan.lines(totals: usage, eventValues: eventValues).map { line -> InvoiceDraft.Line in
            var line = line
            line.periodStart = periodStart
            line.periodEnd = periodEnd
            if line.quantity == nil, cutShort {
                line.amount = prorate(line.amount)
                line.kind = .proration
                line.description += " (prorated)"
            }
            return line
        }
        lines += extraLines
        return try InvoiceDraft(currency: plan.currency, lines: lines, minimumCommitment: plan.minimumCommitment.map(prorate), taxBasisPoints: taxBasisPoints)
    }

    /// Adjustment lines for usage booked after a period was invoiced: for each usage charge,
    /// what the period's total rates to now less what was billed for it (its charge line plus
    /// earlier adjustments). `billed` holds every line that refers to the period.
    public static func lateUsage(
        plan: PricePlan, periodStart: Int64, periodEnd: Int64, usage: [String: Quantity], eventValues: [String: [Quantity]] = [:],
        billed: [InvoiceDraft.Line]
    ) -> [InvoiceDraft.Line] {
        plan.lines(totals: usage, eventValues: eventValues).compactMap { line in
            guard let charge = line.charge, line.quantity != nil else { return nil }
            let before = billed.filter { $0.charge == charge && ($0.kind == .charge || $0.kind == .adjustment) }.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
            let difference = line.amount.minorUnits - before
            guard difference != 0 else { return nil }
            return InvoiceDraft.Line(
                kind: .adjustment, description: "\(line.description): usage booked after the period was invoiced",
                amount: Money(minorUnits: difference, currency: plan.currency), charge: charge, quantity: line.quantity,
                periodStart: periodStart, periodEnd: periodEnd
            )
        }
    }
}
