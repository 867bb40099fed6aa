/// Invoice numbers: a prefix, the year, and a gapless sequence per operator and year
/// (`INV-2026-000123`). The sequence is allocated when an invoice is finalized, in the same
/// transaction, so numbers have no gaps and no repeats.
public struct InvoiceNumber: Sendable, Hashable, CustomStringConvertible {
    public let prefix: String
    public let year: Int
    public let sequence: Int

    public init(prefix: String = "INV", year: Int, sequence: Int) {
        precondition(sequence >= 1 && (1970...9999).contains(year))
        self.prefix = prefix
        self.year = year
        self.sequence = sequence
    }

    /// `INV-2026-000123` (the sequence padded to six digits, longer when it outgrows them).
    public var description: String {
        var digits = String(sequence)
        while digits.count < 6 { digits = "0" + digits }
        return "\(prefix)-\(year)-\(digits)"
    }

    /// Parses `PREFIX-YYYY-NNNNNN`; `nil` when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].count == 4, let year = Int(parts[1]), (1970...9999).contains(year),
              parts[2].count >= 6, parts[2].allSatisfy(\.isNumber), let sequence = Int(parts[2]), sequence >= 1
        else { return nil }
        self.init(prefix: String(parts[0]), year: year, sequence: sequence)
    }
}
