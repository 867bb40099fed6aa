#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A tenant's outbound webhook endpoint: where events of the types it subscribes to are POSTed,
/// signed with its secret (and, for 24 hours after a rotation, with the previous one too).
public struct WebhookEndpoint: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable { case enabled, disabled }

    public var id: WebhookEndpointID
    public var tenant: TenantID
    public var url: String
    public var description: String
    /// Event types it receives; empty means every type.
    public var eventTypes: [String]
    public var secret: WebhookSignature.Secret
    public var previousSecret: WebhookSignature.Secret?
    /// Until when (ms) the previous secret still signs.
    public var previousSecretUntilMillis: Int64?
    public var status: Status
    public var disabledReason: String?
    /// The first failed attempt since the last success (ms).
    public var failingSinceMillis: Int64?
    public var createdAtMillis: Int64
    public var updatedAtMillis: Int64

    public init(id: WebhookEndpointID, tenant: TenantID, url: String, description: String, eventTypes: [String], secret: WebhookSignature.Secret,
                previousSecret: WebhookSignature.Secret? = nil, previousSecretUntilMillis: Int64? = nil, status: Status = .enabled,
                disabledReason: String? = nil, failingSinceMillis: Int64? = nil, createdAtMillis: Int64, updatedAtMillis: Int64) {
        self.id = id
        self.tenant = tenant
        self.url = url
        self.description = description
        self.eventTypes = eventTypes
        self.secret = secret
        self.previousSecret = previousSecret
        self.previousSecretUntilMillis = previousSecretUntilMillis
        self.status = status
        self.disabledReason = disabledReason
        self.failingSinceMillis = failingSinceMillis
        self.createdAtMillis = createdAtMillis
        self.updatedAtMillis = updatedAtMillis
    }

    /// How long the previous secret keeps signing after a rotation.
    public static let rotationOverlapMillis: Int64 = 24 * 3_600_000
    /// How long an endpoint may fail every attempt before it is disabled.
    public static let disableAfterMillis: Int64 = 5 * 86_400_000

    /// Whether it receives events of `type`.
    public func receives(_ type: String) -> Bool { eventTypes.isEmpty || eventTypes.contains(type) }

    /// The secrets a message sent at `now` is signed with: the current one, and the previous
    /// one while the rotation overlap lasts.
    public func signingSecrets(nowMillis: Int64) -> [WebhookSignature.Secret] {
        guard let previousSecret, let until = previousSecretUntilMillis, nowMillis < until else { return [secret] }
        return [secret, previousSecret]
    }

    /// The parts of a URL a delivery needs.
    public struct Target: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var port: Int

        public init(scheme: String, host: String, port: Int) {
            self.scheme = scheme
            self.host = host
            self.port = port
        }
    }

    /// Validates a URL for an endpoint: `http` or `https`, a host, at most 2,048 bytes, no user
    /// info. Throws `validation_failed` on `url`.
    public static func target(_ url: String) throws -> Target {
        let fail = { (why: String) in TallyError.validation("url", "url \(why)") }
        guard url.utf8.count <= 2_048 else { throw fail("is longer than 2048 bytes") }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { throw fail("is not a URL") }
        guard scheme == "http" || scheme == "https" else { throw fail("must use http or https") }
        guard components.user == nil && components.password == nil else { throw fail("must not carry credentials") }
        guard var host = components.host, !host.isEmpty else { throw fail("has no host") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65_535).contains(port) else { throw fail("has a bad port") }
        return Target(scheme: scheme, host: host.lowercased(), port: port)
    }

    /// Validates event type names: 1 to 128 characters of a-z, A-Z, 0-9, '.', '_', '-'; at most 100.
    public static func validateEventTypes(_ types: [String]) throws {
        guard types.count <= 100 else { throw TallyError.validation("event_types", "at most 100 event types") }
        for type in types where !isEventType(type) {
            throw TallyError.validation("event_types", "event types are 1 to 128 characters of a-z, A-Z, 0-9, '.', '_' or '-'")
        }
    }

    public static func isEventType(_ type: String) -> Bool {
        (1...128).contains(type.utf8.count) && type.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
    }
}
