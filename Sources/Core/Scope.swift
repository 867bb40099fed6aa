/// A permission an API key carries. Operator keys carry `operator`; tenant keys carry the rest.
public struct Scope: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ rawValue: String) {
        guard Scope.known.contains(where: { $0.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    private init(known rawValue: String) { self.rawValue = rawValue }

    /// Platform administration: tenants and every tenant's keys.
    public static let `operator` = Scope(known: "operator")
    /// Read the caller's own tenant.
    public static let tenantRead = Scope(known: "tenant:read")
    /// Read the tenant's API keys and service identities.
    public static let keysRead = Scope(known: "keys:read")
    /// Create and revoke the tenant's API keys and service identities.
    public static let keysWrite = Scope(known: "keys:write")
    /// Post usage events.
    public static let eventsWrite = Scope(known: "events:write")
    /// Read meters and usage.
    public static let usageRead = Scope(known: "usage:read")
    /// Define meters.
    public static let metersWrite = Scope(known: "meters:write")
    /// Read the tenant's webhook endpoints and their delivery logs.
    public static let webhooksRead = Scope(known: "webhooks:read")
    /// Create, change, rotate and delete webhook endpoints; send test messages; retry deliveries.
    public static let webhooksWrite = Scope(known: "webhooks:write")

    /// Read the tenant's subscription, invoices and billing settings.
    public static let billingRead = Scope(known: "billing:read")
    /// Subscribe, change plan and cancel the tenant's own subscription.
    public static let billingWrite = Scope(known: "billing:write")

    /// Every scope Tally knows.
    public static let known: [Scope] = [
        .operator, .tenantRead, .keysRead, .keysWrite, .eventsWrite, .usageRead, .metersWrite, .webhooksRead, .webhooksWrite, .billingRead, .billingWrite,
    ]
    /// The scopes a tenant key gets when none are asked for.
    public static let tenantDefaults: [Scope] = [
        .tenantRead, .keysRead, .keysWrite, .eventsWrite, .usageRead, .metersWrite, .webhooksRead, .webhooksWrite, .billingRead, .billingWrite,
    ]

    public var description: String { rawValue }
    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let scope = Scope(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown scope \(text)"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
