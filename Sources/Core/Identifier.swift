#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A time-ordered, prefixed identifier such as `ten_01JD3ZK4W5Q8N6H2X9R7B1C0VE`.
///
/// The body is 26 Crockford base32 characters: 48 bits of milliseconds since the epoch followed
/// by 80 random bits (the ULID layout), so identifiers sort by creation time and make natural
/// pagination cursors. The prefix says what the identifier names.
public struct Identifier<Kind: IdentifierKind>: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The full text, prefix included.
    public let rawValue: String

    /// Wraps an identifier that is already known to be valid (read back from storage).
    public init(trusted rawValue: String) {
        self.rawValue = rawValue
    }

    /// Parses user input; `nil` unless it has this kind's prefix and a well-formed body.
    public init?(_ text: String) {
        let prefix = Kind.prefix + "_"
        guard text.hasPrefix(prefix) else { return nil }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        guard body.count == 26, body.allSatisfy({ Crockford.value(of: $0) != nil }) else { return nil }
        self.rawValue = text
    }

    /// A new identifier for the given instant.
    public static func generate(at date: Date = Date()) -> Self {
        var generator = SystemRandomNumberGenerator()
        return generate(at: date, using: &generator)
    }

    /// A new identifier for the given instant, drawing randomness from `generator`.
    public static func generate(at date: Date, using generator: inout some RandomNumberGenerator) -> Self {
        make(at: date, randomHigh: UInt16(truncatingIfNeeded: generator.next()), randomLow: generator.next())
    }

    /// The identifier for `date` (to the millisecond) with 80 bits that the caller made unique
    /// (random, or a random start plus a counter).
    public static func make(at date: Date, randomHigh: UInt16, randomLow: UInt64) -> Self {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        return Self(trusted: Crockford.encode(prefix: Kind.prefix + "_", millis: millis, randomHigh: randomHigh, randomLow: randomLow))
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a \(Kind.prefix)_ identifier"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Names the prefix of one kind of identifier.
public protocol IdentifierKind: Sendable {
    /// The prefix before the underscore, e.g. `ten`.
    static var prefix: String { get }
}

/// Tenants: `ten_…`.
public enum TenantKind: IdentifierKind { public static let prefix = "ten" }
/// API keys: `key_…`.
public enum APIKeyKind: IdentifierKind { public static let prefix = "key" }
/// Service identities (non-human principals): `svc_…`.
public enum ServiceIdentityKind: IdentifierKind { public static let prefix = "svc" }

/// A tenant's identifier.
public typealias TenantID = Identifier<TenantKind>
/// An API key's identifier (public, also embedded in the secret token).
public typealias APIKeyID = Identifier<APIKeyKind>
/// A service identity's identifier.
public typealias ServiceIdentityID = Identifier<ServiceIdentityKind>

public enum GrantKind: IdentifierKind { public static let prefix = "grt" }
/// A credit granted to a tenant for a metered feature.
public typealias GrantID = Identifier<GrantKind>

public enum JobKind: IdentifierKind { public static let prefix = "job" }
/// A background job.
public typealias JobID = Identifier<JobKind>

public enum WebhookEndpointKind: IdentifierKind { public static let prefix = "whe" }
/// An outbound webhook endpoint.
public typealias WebhookEndpointID = Identifier<WebhookEndpointKind>

public enum WebhookMessageKind: IdentifierKind { public static let prefix = "msg" }
/// One outbound webhook message (its `webhook-id`).
public typealias WebhookMessageID = Identifier<WebhookMessageKind>

public enum SubscriptionKind: IdentifierKind { public static let prefix = "sub" }
/// A billing subscription: a tenant on a plan's prices.
public typealias SubscriptionID = Identifier<SubscriptionKind>

public enum InvoiceKind: IdentifierKind { public static let prefix = "inv" }
/// An invoice: one subscription period's charges.
public typealias InvoiceID = Identifier<InvoiceKind>

public enum CreditNoteKind: IdentifierKind { public static let prefix = "crn" }
/// A credit note: a correction to a finalized invoice.
public typealias CreditNoteID = Identifier<CreditNoteKind>
