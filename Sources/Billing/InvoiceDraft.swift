import Core
import Metering

/// An invoice's lines and totals, built by one rule: every line is whole minor units already
/// (each rated line rounded once), the minimum commitment tops the subtotal up, tax is charged on
/// the subtotal (rounded half away from zero), and the total is the sum of all lines. Pure.
public struct InvoiceDraft: Sendable, Equatable {
    public enum LineKind: String, Sendable, Equatable {
        case charge, proration, credit, adjustment, minimum, tax
    }

    /// One line: what it is, its amount, and for rated lines the charge, the meter total it
    /// rated and (for adjustments and proration) the period it refers to, in Unix seconds.
    public struct Line: Sendable, Equatable {
        public var kind: LineKind
        public var description: String
        public var amount: Money
        public var charge: String?
        public var quantity: Quantity?
        public var periodStart: Int64?
        public var periodEnd: Int64?

        public init(kind: LineKind, description: String, amount: Money, charge: String? = nil, quantity: Quantity? = nil,
                    periodStart: Int64? = nil, periodEnd: Int64? = nil) {
            self.kind = kind
            self.description = description
            self.amount = amount
            self.charge = charge
            self.quantity = quantity
            self.periodStart = periodStart
            self.periodEnd = periodEnd
        }

        /// The line as the API shows and the store keeps it (times RFC 3339, amounts decimal strings).
        public var json: JSONValue {
            var line: [String: JSONValue] = ["kind": .string(kind.rawValue), "description": .string(description), "amount": .string(amount.decimalString)]
            if let charge { line["charge"] = .string(charge) }
            if let quantity { line["quantity"] = .string(quantity.description) }
            if let periodStart { line["period_start"] = RFC3339.json(seconds: periodStart) }
            if let periodEnd { line["period_end"] = RFC3339.json(seconds: periodEnd) }
            return .object(line)
        }

        /// Reads `json` back (stored documents only: a malformed line is a storage fault).
        public static func parse(_ value: JSONValue, currency: Currency) -> Line? {
            guard case .object(let f) = value, case .string(let kindText)? = f["kind"], let kind = LineKind(rawValue: kindText),
                  case .string(let description)? = f["description"], case .string(let amountText)? = f["amount"],
                  let amount = Money(decimal: amountText, currency: currency) else { return nil }
            func text(_ key: String) -> String? { if case .string(let v)? = f[key] { return v } else { return nil } }
            func seconds(_ key: String) -> Int64? { text(key).flatMap(RFC3339.seconds) }
            return Line(kind: kind, description: description, amount: amount, charge: text("charge"), quantity: text("quantity").flatMap { Quantity($0) },
                        periodStart: seconds("period_start"), periodEnd: seconds("period_end"))
        }
    }

    public let currency: Currency
    public let lines: [Line]
    /// Everything before tax and credits.
    public let subtotal: Money
    public let tax: Money
    /// The credits applied (zero or negative): at most what the invoice charges after tax.
    public let credits: Money
    /// Credit left over once the invoice is down to zero, for the next invoice.
    public let carriedCredit: Money
    public let total: Money

    /// Builds the invoice. `taxBasisPoints` is the tenant's tax rate (1 % = 100); lines in another
    /// currency are refused; a negative subtotal (proration exceeding charges) is taxed as zero.
    /// `credit` lines (negative amounts granted to the tenant) apply last, to the total after
    /// tax and never below zero; what they cannot use is `carriedCredit`.
    public init(currency: Currency, lines: [Line], minimumCommitment: Money? = nil, taxBasisPoints: Int = 0) throws {
        guard lines.allSatisfy({ $0.amount.currency == currency }), minimumCommitment.map({ $0.currency == currency }) ?? true else {
            throw TallyError.validation("currency", "every line of an invoice is in its currency")
        }
        guard (0...10_000).contains(taxBasisPoints) else { throw TallyError.validation("tax_rate", "the tax rate is 0 to 100 %") }
        var all = lines.filter { $0.kind != .tax && $0.kind != .minimum && $0.kind != .credit }
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
        var room = max(0, subtotal.minorUnits + tax.minorUnits)
        var applied: Int64 = 0, carried: Int64 = 0
        for credit in lines where credit.kind == .credit {
            let amount = max(0, -credit.amount.minorUnits)
            let used = min(amount, room)
            room -= used
            applied += used
            carried += amount - used
            if used > 0 {
                var line = credit
                line.amount = Money(minorUnits: -used, currency: currency)
                all.append(line)
            }
        }
        self.currency = currency
        self.lines = all
        self.subtotal = subtotal
        self.tax = tax
        self.credits = Money(minorUnits: -applied, currency: currency)
        self.carriedCredit = Money(minorUnits: carried, currency: currency)
        guard let total = Money.sum(all.map(\.amount), currency: currency) else { throw TallyError.validation("lines", "the invoice total overflows") }
        self.total = total
    }

    /// A stored invoice's lines and totals as they were written (no re-computation).
    init(stored currency: Currency, lines: [Line], subtotal: Money, tax: Money, total: Money) {
        self.currency = currency
        self.lines = lines
        self.subtotal = subtotal
        self.tax = tax
        self.credits = Money(minorUnits: lines.filter { $0.kind == .credit }.reduce(0) { $0 + $1.amount.minorUnits }, currency: currency)
        self.carriedCredit = .zero(currency)
        self.total = total
    }
}
