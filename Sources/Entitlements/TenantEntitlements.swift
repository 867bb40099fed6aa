import Core

/// A tenant's entitlement assignment: its plan, per-feature overrides, and the anchor its
/// billing-period entitlements count from.
///
/// ```json
/// {"plan": "pro", "overrides": {"api-calls": {"limit": 250000}, "sso": null}}
/// ```
///
/// An override replaces the plan's entitlement for that feature; `null` takes the feature away.
public struct TenantEntitlements: Sendable, Equatable {
    public var plan: String?
    /// `nil` values remove the plan's entitlement.
    public var overrides: [String: EntitlementSpec?]
    /// Unix seconds: where billing periods start (when the plan was assigned, until Billing
    /// links a subscription).
    public var anchor: Int64

    public init(plan: String? = nil, overrides: [String: EntitlementSpec?] = [:], anchor: Int64) {
        self.plan = plan
        self.overrides = overrides
        self.anchor = anchor
    }

    /// What the tenant is entitled to: the plan's entitlements with the overrides applied.
    public func resolve(plan: Plan?) -> [String: EntitlementSpec] {
        var specs = plan?.entitlements ?? [:]
        for (feature, override) in overrides { specs[feature] = override }
        return specs
    }

    /// Parses `{"plan": …, "overrides": {…}}`; members left out keep `current`'s values.
    public static func parse(_ json: JSONValue, current: TenantEntitlements) throws(TallyError) -> TenantEntitlements {
        guard case .object(let members) = json else { throw .validation("", "the body must be a JSON object") }
        try EntitlementSpec.only(["plan", "overrides"], in: members, field: "")
        var next = current
        switch members["plan"] {
        case nil: break
        case .null?: next.plan = nil
        case .string(let key)?:
            try Feature.validateKey(key, field: "plan")
            next.plan = key
        default: throw .validation("plan", "plan must be a plan key or null")
        }
        switch members["overrides"] {
        case nil: break
        case .object(let items)?:
            var overrides: [String: EntitlementSpec?] = [:]
            for (feature, value) in items {
                try Feature.validateKey(feature, field: "overrides.\(feature)")
                if case .null = value { overrides[feature] = .some(nil) } else {
                    overrides[feature] = try EntitlementSpec.parse(value, field: "overrides.\(feature)")
                }
            }
            next.overrides = overrides
        default: throw .validation("overrides", "overrides must be an object of feature key to entitlement (or null to remove it)")
        }
        return next
    }

    /// The overrides as JSON (`null` for a removed feature).
    public var overridesJSON: JSONValue {
        .object(overrides.mapValues { $0?.json ?? .null })
    }
}
