import Core
import Metering

/// What a plan or a tenant override grants for one feature, as written in JSON:
///
/// ```json
/// {"sso": {"enabled": true},
///  "max-seats": {"value": 25},
///  "api-calls": {"limit": 100000, "period": "month", "enforcement": "hard"},
///  "storage-gb": {"limit": "500.5", "period": "rolling", "rolling_seconds": 86400,
///                 "enforcement": "soft", "overage": true, "thresholds": [50, 80, 100]}}
/// ```
///
/// The shape follows the feature's kind: `enabled` for boolean features, `value` for static
/// ones, `limit` and its rules for metered ones.
public enum EntitlementSpec: Sendable, Equatable {
    case boolean(Bool)
    case value(JSONValue)
    case metered(MeteredSpec)

    public var kind: Feature.Kind {
        switch self {
        case .boolean: .boolean
        case .value: .static
        case .metered: .metered
        }
    }

    /// Parses one feature's entitlement; errors name `field` and the member at fault.
    public static func parse(_ json: JSONValue, field: String) throws(TallyError) -> EntitlementSpec {
        guard case .object(let members) = json else { throw .validation(field, "\(field) must be an object") }
        if members["enabled"] != nil {
            try only(["enabled"], in: members, field: field)
            guard case .bool(let flag)? = members["enabled"] else { throw .validation("\(field).enabled", "enabled must be true or false") }
            return .boolean(flag)
        }
        if let value = members["value"] {
            try only(["value"], in: members, field: field)
            return .value(value)
        }
        if members["limit"] != nil { return .metered(try MeteredSpec.parse(members, field: field)) }
        throw .validation(field, "\(field) takes enabled (boolean features), value (static features) or limit (metered features)")
    }

    public static func only(_ names: Set<String>, in members: [String: JSONValue], field: String) throws(TallyError) {
        for name in members.keys.sorted() where !names.contains(name) {
            throw .validation(field.isEmpty ? name : "\(field).\(name)", "\(name) is not a member here (this takes \(names.sorted().joined(separator: ", ")))")
        }
    }

    /// The JSON form `parse` reads.
    public var json: JSONValue {
        switch self {
        case .boolean(let flag): ["enabled": .bool(flag)]
        case .value(let value): ["value": value]
        case .metered(let spec): spec.json
        }
    }

    /// Checks the entitlement against the feature it is for.
    public func validate(for feature: Feature, field: String) throws(TallyError) {
        guard kind == feature.kind else {
            throw .validation(field, "feature \(feature.key) is \(feature.kind.rawValue); this entitlement is \(kind.rawValue)")
        }
    }
}

/// A metered entitlement's rules: the limit per period, how it is enforced, and when to tell.
public struct MeteredSpec: Sendable, Equatable {
    public enum Period: Sendable, Equatable {
        /// Calendar months in UTC.
        case month
        /// Monthly periods from the tenant's billing anchor (its subscription start, else when
        /// its plan was assigned).
        case billing
        /// The last `seconds`, sliding.
        case rolling(seconds: Int64)

        public var rollingSeconds: Int64? {
            if case .rolling(let seconds) = self { return seconds }
            return nil
        }
    }

    public var limit: Quantity
    public var period: Period
    public var enforcement: Enforcement
    public var overage: Bool
    public var thresholds: [Int]

    public init(limit: Quantity, period: Period = .month, enforcement: Enforcement = .hard, overage: Bool = false, thresholds: [Int] = [80, 100]) {
        self.limit = limit
        self.period = period
        self.enforcement = enforcement
        self.overage = overage
        self.thresholds = thresholds
    }

    public var meteredLimit: MeteredLimit {
        MeteredLimit(allowance: limit, enforcement: enforcement, overage: overage, thresholds: thresholds)
    }

    /// The period rule for a tenant whose billing periods start at `anchor` (Unix seconds).
    public func entitlementPeriod(anchor: Int64) -> EntitlementPeriod {
        switch period {
        case .month: .calendarMonth(zone: .gmt)
        case .billing: .billing(anchor: anchor, months: 1, zone: .gmt)
        case .rolling(let seconds): .rolling(seconds: seconds)
        }
    }

    static let members: Set<String> = ["limit", "period", "rolling_seconds", "enforcement", "overage", "thresholds"]
    static let maxRollingSeconds: Int64 = 366 * 86_400

    static func parse(_ members: [String: JSONValue], field: String) throws(TallyError) -> MeteredSpec {
        try EntitlementSpec.only(Self.members, in: members, field: field)
        var spec = MeteredSpec(limit: .zero)
        guard let limit = members["limit"].flatMap({ Quantity(json: $0) }), limit >= .zero else {
            throw .validation("\(field).limit", "limit must be a number (or a decimal string) at least 0")
        }
        spec.limit = limit
        let rolling: Int64?
        switch members["rolling_seconds"] {
        case nil, .null?: rolling = nil
        case .number(let seconds)? where seconds == seconds.rounded() && seconds >= 60 && seconds <= Double(maxRollingSeconds):
            rolling = Int64(seconds)
        default: throw .validation("\(field).rolling_seconds", "rolling_seconds must be a whole number of seconds in 60...\(maxRollingSeconds)")
        }
        switch members["period"] {
        case nil, .null?, .string("month")?: spec.period = .month
        case .string("billing")?: spec.period = .billing
        case .string("rolling")?:
            guard let rolling else { throw .validation("\(field).rolling_seconds", "a rolling period needs rolling_seconds") }
            spec.period = .rolling(seconds: rolling)
        default: throw .validation("\(field).period", "period must be month, billing or rolling")
        }
        if rolling != nil, spec.period.rollingSeconds == nil {
            throw .validation("\(field).rolling_seconds", "rolling_seconds applies only to a rolling period")
        }
        switch members["enforcement"] {
        case nil, .null?: spec.enforcement = .hard
        case .string(let text)?:
            guard let enforcement = Enforcement(rawValue: text) else { throw .validation("\(field).enforcement", "enforcement must be hard or soft") }
            spec.enforcement = enforcement
        default: throw .validation("\(field).enforcement", "enforcement must be hard or soft")
        }
        switch members["overage"] {
        case nil, .null?: spec.overage = false
        case .bool(let flag)?: spec.overage = flag
        default: throw .validation("\(field).overage", "overage must be true or false")
        }
        if spec.overage && spec.enforcement == .hard {
            throw .validation("\(field).overage", "overage applies to soft limits (a hard limit refuses usage past it)")
        }
        switch members["thresholds"] {
        case nil, .null?: spec.thresholds = [80, 100]
        case .array(let items)?:
            var thresholds: [Int] = []
            for item in items {
                guard case .number(let percent) = item, percent == percent.rounded(), (1...1000).contains(percent) else {
                    throw .validation("\(field).thresholds", "thresholds are whole percentages in 1...1000")
                }
                thresholds.append(Int(percent))
            }
            guard thresholds.count <= 10 else { throw .validation("\(field).thresholds", "at most 10 thresholds") }
            spec.thresholds = Array(Set(thresholds)).sorted()
        default: throw .validation("\(field).thresholds", "thresholds must be an array of whole percentages")
        }
        return spec
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "limit": .string(limit.description),
            "enforcement": .string(enforcement.rawValue),
            "overage": .bool(overage),
            "thresholds": .array(thresholds.map { .number(Double($0)) }),
        ]
        switch period {
        case .month: object["period"] = "month"
        case .billing: object["period"] = "billing"
        case .rolling(let seconds):
            object["period"] = "rolling"
            object["rolling_seconds"] = .number(Double(seconds))
        }
        return .object(object)
    }
}
