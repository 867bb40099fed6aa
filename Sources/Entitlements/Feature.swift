import Core
import Metering

/// An entry of the feature catalog: something a plan or a tenant may be entitled to.
public struct Feature: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Equatable, Codable {
        /// On or off (`sso`, `audit-export`).
        case boolean
        /// A fixed value (`max-seats: 25`, `support: "priority"`).
        case `static`
        /// Usage of a meter against a limit per period (`api-calls`).
        case metered
    }

    /// 2-63 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit (as meter slugs).
    public var key: String
    public var name: String
    public var kind: Kind
    /// The meter a metered feature counts; none for the other kinds.
    public var meter: String?

    public init(key: String, name: String, kind: Kind, meter: String? = nil) {
        self.key = key
        self.name = name
        self.kind = kind
        self.meter = meter
    }

    /// Checks every rule; throws `validation_failed` naming the field.
    public func validate() throws(TallyError) {
        try Self.validateKey(key)
        try TenantRules.validateName(name)
        switch (kind, meter) {
        case (.metered, nil): throw .validation("meter", "a metered feature names the meter it counts")
        case (.boolean, _?), (.static, _?): throw .validation("meter", "only metered features name a meter")
        default: break
        }
    }

    /// Feature and plan keys: 2-63 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
    public static func validateKey(_ key: String, field: String = "key") throws(TallyError) {
        let bytes = Array(key.utf8)
        guard (2...63).contains(bytes.count), bytes[0] != UInt8(ascii: "-"), bytes[0] != UInt8(ascii: "_"),
              bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
            throw .validation(field, "\(field) must be 2-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
        }
    }
}
