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
        guard case .object(let members) = section else { throw .validation("settings.rate_limits", "settings.rate_limits must be an object") }
        var limits = TenantRateLimits()
        for (name, value) in members {
            let field = "settings.rate_limits.\(name)"
            guard name == "tenant_per_second" || name == "key_per_second" else {
                throw .validation(field, "settings.rate_limits takes tenant_per_second and key_per_second")
            }
            var number: Int?
            switch value {
            case .null: number = nil
            case .number(let double) where double == double.rounded() && Double(range.lowerBound) <= double && double <= Double(range.upperBound):
                number = Int(double)
            default:
                throw .validation(field, "\(name) must be a whole number of requests per second in \(range.lowerBound)...\(range.upperBound)")
            }
            if name == "tenant_per_second" { limits.tenantPerSecond = number } else { limits.keyPerSecond = number }
        }
        return limits
    }
}
