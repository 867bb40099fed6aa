#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A customer organisation: the unit of isolation, limits and billing.
public struct Tenant: Sendable, Equatable, Codable {
    public var id: TenantID
    /// A unique, URL-safe handle (`acme-corp`), chosen at creation, never reused.
    public var slug: String
    public var name: String
    public var status: TenantStatus
    /// Free-form per-tenant configuration (a JSON object).
    public var settings: [String: JSONValue]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: TenantID, slug: String, name: String, status: TenantStatus, settings: [String: JSONValue], createdAt: Date, updatedAt: Date) {
        self.id = id
        self.slug = slug
        self.name = name
        self.status = status
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, name, status, settings, createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// A tenant's lifecycle state.
public enum TenantStatus: String, Sendable, Codable, CaseIterable {
    /// Serving requests.
    case active
    /// Credentials are refused with `tenant_suspended`; data is kept.
    case suspended
    /// Soft-deleted: credentials are refused with `tenant_deleted`; data awaits retention.
    case deleted
}

/// The validation rules for tenant fields, pure so the API and the CLI share them.
public enum TenantRules {
    /// Slugs: 2–63 characters of `a-z`, `0-9` and `-`, starting with a letter or digit.
    public static func validateSlug(_ slug: String) throws(TallyError) {
        let bytes = Array(slug.utf8)
        let allowed = { (b: UInt8) in (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 45 }
        guard (2...63).contains(bytes.count), bytes.allSatisfy(allowed), bytes[0] != 45 else {
            throw .validation("slug", "slug must be 2-63 characters of a-z, 0-9 and '-', not starting with '-'")
        }
    }

    /// Names (of tenants, keys, service identities): 1–200 code points, not only whitespace,
    /// no control characters (C0, DEL, C1): the OpenAPI document's pattern, to the letter.
    public static func validateName(_ name: String, field: String = "name") throws(TallyError) {
        let scalars = name.unicodeScalars
        guard (1...200).contains(scalars.count), !name.trimmingWhitespace().isEmpty,
              !scalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw .validation(field, "\(field) must be 1-200 characters, not blank, with no control characters")
        }
    }
}

extension TenantStatus {
    /// Whether an operator may move a tenant from this status to `next`: active and suspended
    /// move freely both ways; `deleted` is final; staying put is always allowed.
    public func canTransition(to next: TenantStatus) -> Bool {
        switch (self, next) {
        case (let a, let b) where a == b: true
        case (.active, _), (.suspended, _): true
        case (.deleted, _): false
        }
    }
}
