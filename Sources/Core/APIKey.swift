#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A stored API key: everything but the secret, which exists only as `digest`.
public struct APIKey: Sendable, Equatable, Codable {
    public var id: APIKeyID
    /// The tenant the key acts for; `nil` for an operator (platform admin) key.
    public var tenantID: TenantID?
    /// The service identity that owns the key, if a non-human principal does.
    public var serviceIdentityID: ServiceIdentityID?
    public var name: String
    /// The token's first characters, for telling keys apart in lists.
    public var displayPrefix: String
    /// SHA-256 of the token, lowercase hex. Never encoded into API responses.
    public var digest: String
    public var scopes: [Scope]
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public var expiresAt: Date?

    public init(
        id: APIKeyID, tenantID: TenantID?, serviceIdentityID: ServiceIdentityID?, name: String, displayPrefix: String,
        digest: String, scopes: [Scope], createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil, expiresAt: Date? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.serviceIdentityID = serviceIdentityID
        self.name = name
        self.displayPrefix = displayPrefix
        self.digest = digest
        self.scopes = scopes
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
    }

    /// Whether this is an operator key.
    public var isOperator: Bool { tenantID == nil }

    enum CodingKeys: String, CodingKey {
        case id, tenantID = "tenant_id", serviceIdentityID = "service_identity_id", name, displayPrefix = "prefix"
        case scopes, createdAt = "created_at", lastUsedAt = "last_used_at", revokedAt = "revoked_at", expiresAt = "expires_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(APIKeyID.self, forKey: .id), tenantID: try c.decodeIfPresent(TenantID.self, forKey: .tenantID),
            serviceIdentityID: try c.decodeIfPresent(ServiceIdentityID.self, forKey: .serviceIdentityID),
            name: try c.decode(String.self, forKey: .name), displayPrefix: try c.decode(String.self, forKey: .displayPrefix),
            digest: "", scopes: try c.decode([Scope].self, forKey: .scopes), createdAt: try c.decode(Date.self, forKey: .createdAt),
            lastUsedAt: try c.decodeIfPresent(Date.self, forKey: .lastUsedAt), revokedAt: try c.decodeIfPresent(Date.self, forKey: .revokedAt),
            expiresAt: try c.decodeIfPresent(Date.self, forKey: .expiresAt)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(tenantID, forKey: .tenantID)
        try c.encode(serviceIdentityID, forKey: .serviceIdentityID)
        try c.encode(name, forKey: .name)
        try c.encode(displayPrefix, forKey: .displayPrefix)
        try c.encode(scopes, forKey: .scopes)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(revokedAt, forKey: .revokedAt)
        try c.encode(expiresAt, forKey: .expiresAt)
    }
}

/// A non-human principal of a tenant (a backend service, a CI job) that owns API keys.
public struct ServiceIdentity: Sendable, Equatable, Codable {
    public var id: ServiceIdentityID
    public var tenantID: TenantID
    public var name: String
    public var description: String
    public var createdAt: Date
    public var disabledAt: Date?

    public init(id: ServiceIdentityID, tenantID: TenantID, name: String, description: String, createdAt: Date, disabledAt: Date? = nil) {
        self.id = id
        self.tenantID = tenantID
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    enum CodingKeys: String, CodingKey {
        case id, tenantID = "tenant_id", name, description, createdAt = "created_at", disabledAt = "disabled_at"
    }

    /// Encodes absent values as explicit `null`s, as every API object does.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(tenantID, forKey: .tenantID)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(disabledAt, forKey: .disabledAt)
    }
}

/// One page of a list, in ascending id order, with the cursor for the next page.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass as `after` to get the next page; `nil` on the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// Which page of a list to read: up to `limit` items with ids greater than `after`.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maximumLimit = 200

    public var limit: Int
    public var after: String?

    public init(limit: Int = PageRequest.defaultLimit, after: String? = nil) {
        self.limit = limit
        self.after = after
    }

    /// Builds a page from `limit + 1` fetched rows: the extra row only says another page exists.
    public func page<Item>(from rows: [Item], id: (Item) -> String) -> Page<Item> {
        guard rows.count > limit else { return Page(items: rows, nextCursor: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextCursor: items.last.map(id))
    }
}
