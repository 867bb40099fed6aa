import Core

/// The features and plans of the brief's seed files, `config/entitlements.json` (the feature
/// catalog and each plan's entitlements) and `config/quotas.json` (each plan's metered limits
/// and rate limits):
///
/// ```json
/// // entitlements.json
/// {"features": [{"key": "sso", "name": "Single sign-on", "kind": "boolean"}, …],
///  "plans": {"pro": {"name": "Pro", "entitlements": {"sso": {"enabled": true}}}}}
/// // quotas.json
/// {"plans": {"pro": {"api-calls": {"limit": 1000000, "enforcement": "soft", "overage": true}}},
///  "rate_limits": {"pro": {"tenant_per_second": 500}}}
/// ```
///
/// A plan's entitlements are the union of both files' (a feature in both is an error).
public struct SeedData: Sendable, Equatable {
    public var features: [Feature]
    public var plans: [Plan]

    public init(features: [Feature] = [], plans: [Plan] = []) {
        self.features = features
        self.plans = plans
    }

    /// Parses either file or both; errors name the file and the field.
    public static func parse(entitlements: JSONValue?, quotas: JSONValue?) throws(TallyError) -> SeedData {
        var seed = SeedData()
        var plans: [String: Plan] = [:]
        if let entitlements {
            let file = "entitlements.json"
            guard case .object(let root) = entitlements else { throw .validation(file, "\(file) must be a JSON object") }
            try EntitlementSpec.only(["features", "plans"], in: root, field: file)
            if let features = root["features"] {
                guard case .array(let items) = features else { throw .validation("\(file).features", "features must be an array") }
                for (index, item) in items.enumerated() {
                    seed.features.append(try feature(item, field: "\(file).features[\(index)]"))
                }
            }
            for (key, value) in try object(root["plans"], field: "\(file).plans") {
                let field = "\(file).plans.\(key)"
                let members = try object(value, field: field)
                try EntitlementSpec.only(["name", "entitlements"], in: members, field: field)
                guard case .string(let name)? = members["name"] else { throw .validation("\(field).name", "name is required") }
                var plan = Plan(key: key, name: name.trimmingWhitespace())
                if let specs = members["entitlements"] { plan.entitlements = try Plan.parseEntitlements(specs, field: "\(field).entitlements") }
                plans[key] = plan
            }
        }
        if let quotas {
            let file = "quotas.json"
            guard case .object(let root) = quotas else { throw .validation(file, "\(file) must be a JSON object") }
            try EntitlementSpec.only(["plans", "rate_limits"], in: root, field: file)
            for (key, value) in try object(root["plans"], field: "\(file).plans") {
                let field = "\(file).plans.\(key)"
                var plan = plans[key] ?? Plan(key: key, name: key)
                for (feature, spec) in try Plan.parseEntitlements(value, field: field) {
                    guard plan.entitlements[feature] == nil else {
                        throw .validation("\(field).\(feature)", "\(feature) is set for plan \(key) in both entitlements.json and quotas.json")
                    }
                    guard case .metered = spec else { throw .validation("\(field).\(feature)", "quotas.json holds metered limits ({\"limit\": …})") }
                    plan.entitlements[feature] = spec
                }
                plans[key] = plan
            }
            for (key, value) in try object(root["rate_limits"], field: "\(file).rate_limits") {
                var plan = plans[key] ?? Plan(key: key, name: key)
                plan.rateLimits = try TenantRateLimits.parse(section: value, field: "\(file).rate_limits.\(key)")
                plans[key] = plan
            }
        }
        seed.plans = plans.values.sorted { $0.key < $1.key }
        for plan in seed.plans {
            do {
                try plan.validate()
            } catch {
                throw .validation("plans.\(plan.key).\(error.field ?? "key")", error.detail)
            }
        }
        return seed
    }

    static func object(_ value: JSONValue?, field: String) throws(TallyError) -> [String: JSONValue] {
        switch value {
        case nil, .null?: return [:]
        case .object(let members)?: return members
        default: throw .validation(field, "\(field) must be an object")
        }
    }

    static func feature(_ value: JSONValue, field: String) throws(TallyError) -> Feature {
        let members = try object(value, field: field)
        try EntitlementSpec.only(["key", "name", "kind", "meter"], in: members, field: field)
        guard case .string(let key)? = members["key"] else { throw .validation("\(field).key", "key is required") }
        guard case .string(let name)? = members["name"] else { throw .validation("\(field).name", "name is required") }
        guard case .string(let kindText)? = members["kind"], let kind = Feature.Kind(rawValue: kindText) else {
            throw .validation("\(field).kind", "kind must be boolean, static or metered")
        }
        var meter: String?
        switch members["meter"] {
        case nil, .null?: break
        case .string(let slug)?: meter = slug
        default: throw .validation("\(field).meter", "meter must be a meter slug")
        }
        let feature = Feature(key: key, name: name.trimmingWhitespace(), kind: kind, meter: meter)
        do {
            try feature.validate()
        } catch {
            throw .validation("\(field).\(error.field ?? "key")", error.detail)
        }
        return feature
    }
}
