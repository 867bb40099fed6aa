import Core

/// A tenant's own rate limits, from the `rate_limits` section of its settings:
///
/// ```json
/// {"rate_limits": {"tenant_per_second": 2000, "key_per_second": 500}}
/// ```
///
/// Absent values take the node's defaults (`TALLY_RATE_LIMIT_*`).
public struct TenantRateLimits: Sendable, Equatable {
    public var tenantPerSecond: Int?
    public var keyPerSecond: Int?

    public init(tenantPerSecond: Int? = nil, keyPerSecond: Int? = nil) {
        self.tenantPerSecond = tenantPerSecond
        self.keyPerSecond = keyPerSecond
    }

    public static let key = "rate_limits"
    static let range = 1...1_000_000

    /// The tenant's limits; throws `validation_failed` naming the bad setting.
    public static func parse(_ settings: [String: JSONValue]) throws(TallyError) -> TenantRateLimits {
        guard let section = settings[key] else { return TenantRateLimits() }
        return try parse(section: section, field: "settings.rate_limits")
    }

    /// Limits written as `{"tenant_per_second": …, "key_per_second": …}` at `field` (a tenant's
    /// settings or a plan's `rate_limits`).
    public static func parse(section: JSONValue, field: String) throws(TallyError) -> TenantRateLimits {
        if case .null = section { return TenantRateLimits() }
        guard case .object(let members) = section else { throw .validation(field, "\(field) must be an object") }
        var limits = TenantRateLimits()
        for (name, value) in members {
            let member = "\(field).\(name)"
            guard name == "tenant_per_second" || name == "key_per_second" else {
                throw .validation(member, "\(field) takes tenant_per_second and key_per_second")
            }
            var number: Int?
            switch value {
            case .null: number = nil
            case .number(let double) where double == double.rounded() && Double(range.lowerBound) <= double && double <= Double(range.upperBound):
                number = Int(double)
            default:
                throw .validation(member, "\(name) must be a whole number of requests per second in \(range.lowerBound)...\(range.upperBound)")
            }
            if name == "tenant_per_second" { limits.tenantPerSecond = number } else { limits.keyPerSecond = number }
        }
        return limits
    }

    /// These limits where set, else `defaults`' (a tenant's own settings over its plan's).
    public func over(_ defaults: TenantRateLimits) -> TenantRateLimits {
        TenantRateLimits(tenantPerSecond: tenantPerSecond ?? defaults.tenantPerSecond, keyPerSecond: keyPerSecond ?? defaults.keyPerSecond)
    }

    /// The JSON form `parse(section:field:)` reads (unset limits left out).
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let tenantPerSecond { object["tenant_per_second"] = .number(Double(tenantPerSecond)) }
        if let keyPerSecond { object["key_per_second"] = .number(Double(keyPerSecond)) }
        return .object(object)
    }
}
