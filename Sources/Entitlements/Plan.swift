import Core

/// A plan's entitlement defaults: what every tenant on the plan gets unless an override says
/// otherwise, and the plan's default rate limits. (Billing adds prices to plans; entitlements
/// work without them.)
///
/// ```json
/// {"key": "pro", "name": "Pro",
///  "entitlements": {"sso": {"enabled": true}, "api-calls": {"limit": 100000}},
///  "rate_limits": {"tenant_per_second": 2000}}
/// ```
public struct Plan: Sendable, Equatable {
    /// As feature keys: 2-63 of `a-z`, `0-9`, `-`, `_`.
    public var key: String
    public var name: String
    /// By feature key.
    public var entitlements: [String: EntitlementSpec]
    public var rateLimits: TenantRateLimits

    public init(key: String, name: String, entitlements: [String: EntitlementSpec] = [:], rateLimits: TenantRateLimits = TenantRateLimits()) {
        self.key = key
        self.name = name
        self.entitlements = entitlements
        self.rateLimits = rateLimits
    }

    static let members: Set<String> = ["key", "name", "entitlements", "rate_limits"]

    /// Parses a plan document; every error names its field.
    public static func parse(_ json: JSONValue) throws(TallyError) -> Plan {
        guard case .object(let members) = json else { throw .validation("", "a plan is a JSON object") }
        try EntitlementSpec.only(Self.members, in: members, field: "")
        guard case .string(let key)? = members["key"] else { throw .validation("key", "key is required: 2-63 characters of a-z, 0-9, '-' and '_'") }
        guard case .string(let name)? = members["name"] else { throw .validation("name", "name is required") }
        var plan = Plan(key: key, name: name.trimmingWhitespace())
        try plan.change(members)
        try plan.validate()
        return plan
    }

    /// Applies the members of a `PATCH` (`name`, `entitlements`, `rate_limits`); `entitlements`
    /// replaces the whole map.
    public mutating func change(_ members: [String: JSONValue]) throws(TallyError) {
        if case .string(let name)? = members["name"] { self.name = name.trimmingWhitespace() } else if members["name"] != nil {
            throw .validation("name", "name must be a string")
        }
        if let entitlements = members["entitlements"] {
            self.entitlements = try Self.parseEntitlements(entitlements, field: "entitlements")
        }
        if let limits = members["rate_limits"] {
            self.rateLimits = try TenantRateLimits.parse(section: limits, field: "rate_limits")
        }
    }

    /// Applies a `PATCH` body: a JSON object of `name`, `entitlements` and `rate_limits`.
    public mutating func patch(_ json: JSONValue) throws(TallyError) {
        guard case .object(let members) = json else { throw .validation("", "the body must be a JSON object") }
        try EntitlementSpec.only(["name", "entitlements", "rate_limits"], in: members, field: "")
        try change(members)
        try validate()
    }

    /// Parses `{"feature": {…}, …}`.
    public static func parseEntitlements(_ json: JSONValue, field: String) throws(TallyError) -> [String: EntitlementSpec] {
        guard case .object(let members) = json else { throw .validation(field, "\(field) must be an object of feature key to entitlement") }
        var specs: [String: EntitlementSpec] = [:]
        for (feature, value) in members {
            specs[feature] = try EntitlementSpec.parse(value, field: "\(field).\(feature)")
        }
        return specs
    }

    public func validate() throws(TallyError) {
        try Feature.validateKey(key)
        try TenantRules.validateName(name)
    }

    /// The JSON form (as the API returns it).
    public var json: JSONValue {
        [
            "key": .string(key), "name": .string(name),
            "entitlements": .object(entitlements.mapValues(\.json)),
            "rate_limits": rateLimits.json,
        ]
    }
}
