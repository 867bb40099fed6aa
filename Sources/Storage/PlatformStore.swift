import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The platform tables (tenants, API keys, service identities) behind one driver protocol.
///
/// Every driver passes the same conformance suite (`Tests/ConformanceTests`). Methods on
/// tenant-owned rows take a `TenantScope` and never return rows of another tenant.
public protocol PlatformStore: Sendable {
    /// `sqlite` or `postgres`, for logs and health output.
    var backendName: String { get }

    /// Answers when the database serves queries; throws otherwise.
    func ping() async throws

    // MARK: Tenants (operator)

    /// Inserts a tenant; throws `TallyError` `conflict` (field `slug`) when the slug is taken.
    func insertTenant(_ tenant: Tenant) async throws
    func tenant(id: TenantID) async throws -> Tenant?
    func tenant(slug: String) async throws -> Tenant?
    func listTenants(_ page: PageRequest) async throws -> Page<Tenant>
    /// Applies `change` if the tenant's status is still `expectedStatus`; returns the new row,
    /// or `nil` when no tenant has that id and status (the caller re-reads to tell which).
    func updateTenant(_ id: TenantID, expectedStatus: TenantStatus, change: TenantChange, at: Date) async throws -> Tenant?

    // MARK: API keys

    /// Inserts a key. A tenant key's tenant (and service identity, if any) must exist.
    func insertAPIKey(_ key: APIKey) async throws
    /// The key with its tenant's status, for authentication only.
    func credential(for id: APIKeyID) async throws -> StoredCredential?
    func apiKeys(in scope: TenantScope, _ page: PageRequest) async throws -> Page<APIKey>
    func apiKey(_ id: APIKeyID, in scope: TenantScope) async throws -> APIKey?
    func operatorKeys(_ page: PageRequest) async throws -> Page<APIKey>
    /// Revokes a key of the tenant (or an operator key when `scope` is `nil`); returns it, or
    /// `nil` when there is no such key there. Revoking twice keeps the first time.
    func revokeAPIKey(_ id: APIKeyID, in scope: TenantScope?, at: Date) async throws -> APIKey?
    /// Sets `last_used_at` for many keys in one write (never moving it backwards).
    func recordKeyUsage(_ usage: [APIKeyID: Date]) async throws
    func countActiveOperatorKeys() async throws -> Int

    /// Marks a one-time step done; `true` only for the one caller that did it first.
    func claimBootstrapStep(_ step: String, at: Date) async throws -> Bool

    // MARK: Service identities

    /// Inserts an identity; `conflict` (field `name`) when the tenant already has that name.
    func insertServiceIdentity(_ identity: ServiceIdentity) async throws
    func serviceIdentities(in scope: TenantScope, _ page: PageRequest) async throws -> Page<ServiceIdentity>
    func serviceIdentity(_ id: ServiceIdentityID, in scope: TenantScope) async throws -> ServiceIdentity?
    /// Disables the identity and revokes its keys in one transaction.
    func disableServiceIdentity(_ id: ServiceIdentityID, in scope: TenantScope, at: Date) async throws -> ServiceIdentity?
}

/// The fields a tenant update may change; `nil` leaves a field as it is.
public struct TenantChange: Sendable, Equatable {
    public var name: String?
    public var status: TenantStatus?
    public var settings: [String: JSONValue]?

    public init(name: String? = nil, status: TenantStatus? = nil, settings: [String: JSONValue]? = nil) {
        self.name = name
        self.status = status
        self.settings = settings
    }
}

/// An API key as authentication sees it: the key and the state of its tenant.
public struct StoredCredential: Sendable, Equatable {
    public var key: APIKey
    /// `nil` for operator keys.
    public var tenantStatus: TenantStatus?

    public init(key: APIKey, tenantStatus: TenantStatus?) {
        self.key = key
        self.tenantStatus = tenantStatus
    }
}

/// Applies the embedded migrations under a lock that spans processes.
public protocol MigrationDriver: Sendable {
    /// Applies what is pending; returns the versions applied by this call.
    func migrate() async throws -> [Int]
    /// What the database says it has applied.
    func appliedMigrations() async throws -> [AppliedMigration]
}
