/// What a rate limit counts: a tenant, an API key, a client address, or any other name. The
/// kind keeps equal ids of different kinds apart without a prefixed string built per request.
public struct RateLimitKey: Hashable, Sendable, ExpressibleByStringLiteral {
    public enum Kind: UInt8, Sendable {
        case tenant, apiKey, address, other
    }

    public let kind: Kind
    public let id: String

    public init(_ kind: Kind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    /// A key of kind `other`.
    public init(stringLiteral value: String) {
        self.init(.other, value)
    }
}
