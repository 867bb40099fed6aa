import Core
import Entitlements
import Metering
import Storage

/// A grant as `POST /v1/tenants/{id}/grants` takes it:
///
/// ```json
/// {"feature": "api-calls", "amount": 5000, "priority": 0, "effective_at": "2026-12-01T00:00:00Z",
///  "expires_at": "2027-03-01T00:00:00Z", "recurring": false, "rollover_cap": 0, "reason": "goodwill"}
/// ```
public struct GrantRequest: Sendable, Equatable {
    public var feature: String
    public var amount: Quantity
    public var priority: Int?
    /// Unix seconds.
    public var effectiveAt: Int64?
    public var expiresAt: Int64?
    public var recurring: Bool?
    public var rolloverCap: Quantity?
    public var reason: String?

    public init(
        feature: String, amount: Quantity, priority: Int? = nil, effectiveAt: Int64? = nil, expiresAt: Int64? = nil,
        recurring: Bool? = nil, rolloverCap: Quantity? = nil, reason: String? = nil
    ) {
        self.feature = feature
        self.amount = amount
        self.priority = priority
        self.effectiveAt = effectiveAt
        self.expiresAt = expiresAt
        self.recurring = recurring
        self.rolloverCap = rolloverCap
        self.reason = reason
    }

    static let members: Set<String> = ["feature", "amount", "priority", "effective_at", "expires_at", "recurring", "rollover_cap", "reason"]

    /// Parses the body; every error names its field.
    public static func parse(_ json: JSONValue) throws(TallyError) -> GrantRequest {
        guard case .object(let members) = json else { throw .validation("", "the body must be a JSON object") }
        try EntitlementSpec.only(Self.members, in: members, field: "")
        guard case .string(let feature)? = members["feature"] else { throw .validation("feature", "feature is required: a metered feature's key") }
        var request = GrantRequest(feature: feature, amount: try quantity(members["amount"], field: "amount") ?? .zero)
        if members["amount"] == nil { throw .validation("amount", "amount is required") }
        switch members["priority"] {
        case nil, .null?: break
        case .number(let value)? where value == value.rounded() && abs(value) <= 1000: request.priority = Int(value)
        default: throw .validation("priority", "priority must be a whole number in -1000...1000")
        }
        request.effectiveAt = try time(members["effective_at"], field: "effective_at")
        request.expiresAt = try time(members["expires_at"], field: "expires_at")
        switch members["recurring"] {
        case nil, .null?: break
        case .bool(let flag)?: request.recurring = flag
        default: throw .validation("recurring", "recurring must be true or false")
        }
        request.rolloverCap = try quantity(members["rollover_cap"], field: "rollover_cap")
        switch members["reason"] {
        case nil, .null?: break
        case .string(let text)?: request.reason = text
        default: throw .validation("reason", "reason must be a string")
        }
        return request
    }

    static func quantity(_ value: JSONValue?, field: String) throws(TallyError) -> Quantity? {
        switch value {
        case nil, .null?: return nil
        case let value?:
            guard let quantity = Quantity(json: value) else { throw .validation(field, "\(field) must be an exact number (or a decimal string)") }
            return quantity
        }
    }

    static func time(_ value: JSONValue?, field: String) throws(TallyError) -> Int64? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            guard let micros = RFC3339.microseconds(text) else { throw .validation(field, "\(field) must be an RFC 3339 timestamp") }
            return micros >= 0 ? micros / 1_000_000 : -((-micros + 999_999) / 1_000_000)
        default: throw .validation(field, "\(field) must be an RFC 3339 timestamp")
        }
    }
}

extension GrantDefinition {
    /// The JSON the API returns.
    public var json: JSONValue {
        func time(_ seconds: Int64?) -> JSONValue { seconds.map { .string(RFC3339.format(microseconds: $0 * 1_000_000)) } ?? .null }
        return [
            "id": .string(id), "feature": .string(feature), "amount": .string(amount.description), "priority": .number(Double(priority)),
            "effective_at": time(effectiveAt), "expires_at": time(expiresAt), "recurring": .bool(recurring),
            "rollover_cap": .string(rolloverCap.description), "reason": reason.map { .string($0) } ?? .null, "voided_at": time(voidedAt),
        ]
    }
}

extension TenantEntitlements {
    /// The JSON the API returns.
    public var json: JSONValue {
        [
            "plan": plan.map { .string($0) } ?? .null, "overrides": overridesJSON,
            "period_anchor": .string(RFC3339.format(microseconds: anchor * 1_000_000)),
        ]
    }
}

extension ThresholdNotification {
    /// The JSON the API returns.
    public var json: JSONValue {
        [
            "feature": .string(crossing.feature), "threshold": .number(Double(crossing.threshold)),
            "period_start": .string(RFC3339.format(microseconds: crossing.periodStart * 1_000_000)),
            "used": .string(crossing.used.description), "limit": .string(crossing.limit.description),
            "created_at": .string(RFC3339.format(microseconds: createdAt.microsecondsSinceEpoch)),
        ]
    }
}
