import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
import FoundationInternationalization
#else
import Foundation
#endif

/// A tenant's billing settings: its tax rate (basis points: 8.25 % is 825) and the time zone
/// its subscriptions' periods are counted in.
public struct BillingAccount: Sendable, Equatable {
    public var taxBasisPoints: Int
    public var timeZone: String

    public init(taxBasisPoints: Int = 0, timeZone: String = "UTC") {
        self.taxBasisPoints = taxBasisPoints
        self.timeZone = timeZone
    }

    public var json: JSONValue {
        let hundredths = taxBasisPoints % 100
        return .object(["tax_rate": .string("\(taxBasisPoints / 100).\(hundredths < 10 ? "0" : "")\(hundredths)"), "time_zone": .string(timeZone)])
    }

    /// Reads `{"tax_rate": "8.25", "time_zone": "Europe/Berlin"}`; members left out keep `current`'s.
    public static func parse(_ value: JSONValue, current: BillingAccount) throws -> BillingAccount {
        guard case .object(let fields) = value else { throw TallyError.validation("", "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { $0 != "tax_rate" && $0 != "time_zone" }) {
            throw TallyError.validation(unknown, "unknown member; billing settings are tax_rate and time_zone")
        }
        var next = current
        switch fields["tax_rate"] {
        case nil: break
        case .string(let text)?:
            guard let points = basisPoints(text) else { throw TallyError.validation("tax_rate", "tax_rate is a percentage from 0 to 100 with at most two decimals, as a string") }
            next.taxBasisPoints = points
        default: throw TallyError.validation("tax_rate", "tax_rate is a percentage from 0 to 100 with at most two decimals, as a string")
        }
        switch fields["time_zone"] {
        case nil: break
        case .string(let zone)?:
            guard TimeZone(identifier: zone) != nil else { throw TallyError.validation("time_zone", "time_zone is an IANA zone name such as Europe/Berlin") }
            next.timeZone = zone
        default: throw TallyError.validation("time_zone", "time_zone is an IANA zone name such as Europe/Berlin")
        }
        return next
    }

    /// `"8.25"` → 825; `nil` unless 0 to 100 with at most two decimals.
    static func basisPoints(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 3, parts[0].allSatisfy(\.isASCII), let whole = Int(parts[0]) else { return nil }
        var fraction = 0
        if parts.count == 2 {
            guard (1...2).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let digits = Int(parts[1]) else { return nil }
            fraction = parts[1].count == 1 ? digits * 10 : digits
        }
        let points = whole * 100 + fraction
        return (0...10_000).contains(points) ? points : nil
    }
}
