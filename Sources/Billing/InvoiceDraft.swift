import Core

/// An invoice's lines and totals, built by one rule: every line is whole minor units already
/// (each rated line rounded once), the minimum commitment tops the subtotal up, tax is charged on
/// the subtotal (rounded half away from zero), and the total is the sum of all lines. Pure.
public struct InvoiceDraft: Sendable, Equatable {
    public enum LineKind: String, Sendable, Equatable {
        case charge, proration, credit, adjustment, minimum, tax
    }

    public struct Line: Sendable, Equatable {
        public var kind: LineKind
        public var description: String
        public var amount: Money

        public init(kind: LineKind, description: String, amount: Money) {
            self.kind = kind
            self.description = description
            self.amount = amount
        }
    }

    public let currency: Currency
    public let lines: [Line]
    /// Everything before tax.
    public let subtotal: Money
    public let tax: Money
    public let total: Money

    /// Builds the invoice. `taxBasisPoints` is the tenant's tax rate (1 % = 100); lines in another
    /// currency are refused; a negative subtotal (credits exceeding charges) is taxed as zero.
    public init(currency: Currency, lines: [Line], minimumCommitment: Money? = nil, taxBasisPoints: Int = 0) throws {
        guard lines.allSatisfy({ $0.amount.currency == currency }), minimumCommitment.map({ $0.currency == currency }) ?? true else {
            throw TallyError.validation("currency", "every line of an invoice is in its currency")
        }
        guard (0...10_000).contains(taxBasisPoints) else { throw TallyError.validation("tax_rate", "the tax rate is 0 to 100 %") }
        var all = lines.filter { $0.kind != .tax && $0.kind != .minimum }
        guard var subtotal = Money.sum(all.map(\.amount), currency: currency) else { throw TallyError.validation("lines", "the invoice total overflows") }
        if let minimumCommitment, subtotal.minorUnits < minimumCommitment.minorUnits {
            let topUp = Money(minorUnits: minimumCommitment.minorUnits - subtotal.minorUnits, currency: currency)
            all.append(Line(kind: .minimum, description: "Minimum commitment (\(minimumCommitment))", amount: topUp))
            subtotal = minimumCommitment
        }
        let taxable = Int128(max(0, subtotal.minorUnits)) * Int128(taxBasisPoints)
        var taxMinor = taxable / 10_000
        if (taxable % 10_000) * 2 >= 10_000 { taxMinor += 1 }
        let tax = Money(minorUnits: Int64(taxMinor), currency: currency)
        if taxBasisPoints > 0 {
            let hundredths = taxBasisPoints % 100
            all.append(Line(kind: .tax, description: "Tax \(taxBasisPoints / 100).\(hundredths < 10 ? "0" : "")\(hundredths) %", amount: tax))
        }
        self.currency = currency
        self.lines = all
        self.subtotal = subtotal
        self.tax = tax
        guard let total = Money.sum(all.map(\.amount), currency: currency) else { throw TallyError.validation("lines", "the invoice total overflows") }
        self.total = total
    }
}
