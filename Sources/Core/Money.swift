/// An exact amount of money: whole minor units (cents) of one currency. No floating point
/// anywhere: amounts are parsed from decimal text and computed in integers.
///
/// Rounding (documented in docs/BILLING.md): an exact amount finer than the minor unit (a
/// usage charge, a prorated fee) is rounded once, per invoice line, to the nearest minor unit,
/// halves away from zero; an invoice's total is the sum of its rounded lines.
public struct Money: Sendable, Hashable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(minorUnits: 0, currency: currency) }

    /// Parses a decimal amount in major units (`"12.34"`, `"-0.5"`, `"1000"`); `nil` when it is
    /// not a plain decimal or has more decimals than the currency's minor unit.
    public init?(decimal text: String, currency: Currency) {
        var digits = Substring(text)
        var negative = false
        if digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), whole.count <= 15 else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fraction.isEmpty, fraction.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), fraction.count <= currency.exponent else { return nil }
        while fraction.count < currency.exponent { fraction += "0" }
        guard let major = Int64(whole), let minor = fraction.isEmpty ? 0 : Int64(fraction) else { return nil }
        let value = major * currency.minorPerMajor + minor
        self.init(minorUnits: negative ? -value : value, currency: currency)
    }

    /// The exact amount in units of 10^-18 of the major unit, rounded to minor units (halves away from zero).
    public init(attoUnits: Int128, currency: Currency) {
        var divisor: Int128 = 1
        for _ in 0..<(18 - currency.exponent) { divisor *= 10 }
        let quotient = attoUnits / divisor
        let remainder = attoUnits % divisor
        var rounded = quotient
        if remainder.magnitude * 2 >= divisor.magnitude { rounded += attoUnits < 0 ? -1 : 1 }
        self.init(minorUnits: Int64(rounded), currency: currency)
    }

    /// `12.34` (major units, the currency's digits).
    public var decimalString: String {
        let magnitude = minorUnits.magnitude
        let per = UInt64(currency.minorPerMajor)
        let sign = minorUnits < 0 ? "-" : ""
        guard currency.exponent > 0 else { return sign + String(magnitude) }
        var fraction = String(magnitude % per)
        while fraction.count < currency.exponent { fraction = "0" + fraction }
        return sign + String(magnitude / per) + "." + fraction
    }

    public var description: String { "\(decimalString) \(currency.code)" }

    /// The sum; `nil` when the currencies differ or it overflows.
    public func adding(_ other: Money) -> Money? {
        guard currency == other.currency else { return nil }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: sum, currency: currency)
    }

    public var negated: Money { Money(minorUnits: -minorUnits, currency: currency) }

    /// Sums amounts of one currency; `nil` when currencies differ or it overflows.
    public static func sum(_ amounts: [Money], currency: Currency) -> Money? {
        var total = Money.zero(currency)
        for amount in amounts {
            guard let next = total.adding(amount) else { return nil }
            total = next
        }
        return total
    }
}
