import Core
import Logging
import NIOCore
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded driver: platform tables in one SQLite file. All of its SQL lives here.
public final class SQLitePlatformStore: PlatformStore, MigrationDriver, IdempotencyStore {
    public let database: SQLiteDatabaseFile
    public var backendName: String { "sqlite" }

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    public func ping() async throws {
        _ = try await database.read("SELECT 1")
    }

    // MARK: Migrations

    public func migrate() async throws -> [Int] {
        // Another node (process) migrating holds the write lock for as long as that takes, which
        // can outlast the 5 s busy timeout on a loaded machine: keep waiting, for up to a minute.
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await migrateOnce()
            } catch let error as SQLiteError where error.reason == .busy && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func migrateOnce() async throws -> [Int] {
        try await database.transaction { db in
            _ = try await db.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL
                ) STRICT
                """)
            let applied = try await Self.applied(db)
            let pending = try MigrationPlan.pending(available: Migration.embedded(.sqlite), applied: applied)
            for migration in pending {
                for statement in SQLScript.statements(migration.sql) {
                    _ = try await db.query(statement)
                }
                _ = try await db.query(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    [.integer(migration.version), .text(migration.name), .text(migration.checksum), Optional(Date()).sqliteData]
                )
            }
            return pending.map(\.version)
        }
    }

    public func appliedMigrations() async throws -> [AppliedMigration] {
        let exists = try await database.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard !exists.isEmpty else { return [] }
        return try await Self.applied(database.reader)
    }

    private static func applied(_ db: SQLiteConnection) async throws -> [AppliedMigration] {
        try await db.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").map {
            AppliedMigration(version: try $0.int("version"), name: try $0.text("name"), checksum: try $0.text("checksum"))
        }
    }

    // MARK: Tenants

    static let tenantColumns = "id, slug, name, status, settings, created_at, updated_at"

    public func insertTenant(_ tenant: Tenant) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO tenants (\(Self.tenantColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(tenant.id.rawValue), .text(tenant.slug), .text(tenant.name), .text(tenant.status.rawValue),
                     .text(try StoredJSON.encode(tenant.settings)), Optional(tenant.createdAt).sqliteData, Optional(tenant.updatedAt).sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed {
            throw TallyError(.conflict, "a tenant with slug '\(tenant.slug)' already exists", field: "slug")
        }
    }

    public func tenant(id: TenantID) async throws -> Tenant? {
        try await database.read("SELECT \(Self.tenantColumns) FROM tenants WHERE id = ?", [.text(id.rawValue)]).first.map(Self.tenant)
    }

    public func tenant(slug: String) async throws -> Tenant? {
        try await database.read("SELECT \(Self.tenantColumns) FROM tenants WHERE slug = ?", [.text(slug)]).first.map(Self.tenant)
    }

    public func listTenants(_ page: PageRequest) async throws -> Page<Tenant> {
        let rows = try await database.read(
            "SELECT \(Self.tenantColumns) FROM tenants WHERE id > ? ORDER BY id LIMIT ?",
            [.text(page.after ?? ""), .integer(page.limit + 1)]
        )
        return page.page(from: try rows.map(Self.tenant), id: \.id.rawValue)
    }

    public func updateTenant(_ id: TenantID, expectedStatus: TenantStatus, change: TenantChange, at: Date) async throws -> Tenant? {
        let settings: SQLiteData = try change.settings.map { .text(try StoredJSON.encode($0)) } ?? .null
        return try await database.transaction { db in
            try await db.query(
                """
                UPDATE tenants SET name = COALESCE(?, name), status = COALESCE(?, status), settings = COALESCE(?, settings),
                    updated_at = ? WHERE id = ? AND status = ? RETURNING \(Self.tenantColumns)
                """,
                [change.name.map { .text($0) } ?? .null, change.status.map { .text($0.rawValue) } ?? .null, settings,
                 Optional(at).sqliteData, .text(id.rawValue), .text(expectedStatus.rawValue)]
            ).first.map(Self.tenant)
        }
    }

    static func tenant(_ row: SQLiteRow) throws -> Tenant {
        guard let status = TenantStatus(rawValue: try row.text("status")) else { throw StorageDecodingError(column: "status") }
        return Tenant(
            id: TenantID(trusted: try row.text("id")), slug: try row.text("slug"), name: try row.text("name"), status: status,
            settings: try StoredJSON.decodeObject(try row.text("settings")), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at")
        )
    }

    // MARK: API keys

    static let keyColumns = StoredColumns.apiKey.map { "k." + $0 }.joined(separator: ", ")

    public func insertAPIKey(_ key: APIKey) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    """
                    INSERT INTO api_keys (id, tenant_id, service_identity_id, name, display_prefix, digest, scopes, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [.text(key.id.rawValue), key.tenantID.map { .text($0.rawValue) } ?? .null,
                     key.serviceIdentityID.map { .text($0.rawValue) } ?? .null, .text(key.name), .text(key.displayPrefix),
                     .text(key.digest), .text(StoredScopes.encode(key.scopes)), Optional(key.createdAt).sqliteData, key.expiresAt.sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintForeignKeyFailed {
            throw TallyError(.notFound, "the key's tenant or service identity does not exist", context: error.message)
        }
    }

    public func credential(for id: APIKeyID) async throws -> StoredCredential? {
        let rows = try await database.read(
            "SELECT \(Self.keyColumns), t.status AS tenant_status FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.id = ?",
            [.text(id.rawValue)]
        )
        return try rows.first.map { row in
            StoredCredential(key: try Self.apiKey(row), tenantStatus: row.optionalText("tenant_status").flatMap(TenantStatus.init(rawValue:)))
        }
    }

    public func apiKeys(in scope: TenantScope, _ page: PageRequest) async throws -> Page<APIKey> {
        let rows = try await database.read(
            "SELECT \(Self.keyColumns) FROM api_keys k WHERE k.tenant_id = ? AND k.id > ? ORDER BY k.id LIMIT ?",
            [.text(scope.tenantID.rawValue), .text(page.after ?? ""), .integer(page.limit + 1)]
        )
        return page.page(from: try rows.map(Self.apiKey), id: \.id.rawValue)
    }

    public func apiKey(_ id: APIKeyID, in scope: TenantScope) async throws -> APIKey? {
        try await database.read(
            "SELECT \(Self.keyColumns) FROM api_keys k WHERE k.id = ? AND k.tenant_id = ?",
            [.text(id.rawValue), .text(scope.tenantID.rawValue)]
        ).first.map(Self.apiKey)
    }

    public func operatorKeys(_ page: PageRequest) async throws -> Page<APIKey> {
        let rows = try await database.read(
            "SELECT \(Self.keyColumns) FROM api_keys k WHERE k.tenant_id IS NULL AND k.id > ? ORDER BY k.id LIMIT ?",
            [.text(page.after ?? ""), .integer(page.limit + 1)]
        )
        return page.page(from: try rows.map(Self.apiKey), id: \.id.rawValue)
    }

    public func revokeAPIKey(_ id: APIKeyID, in scope: TenantScope?, at: Date) async throws -> APIKey? {
        let tenantFilter = scope == nil ? "tenant_id IS NULL" : "tenant_id = ?"
        var binds: [SQLiteData] = [Optional(at).sqliteData, .text(id.rawValue)]
        if let scope { binds.append(.text(scope.tenantID.rawValue)) }
        return try await database.transaction { db in
            try await db.query(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND \(tenantFilter) RETURNING \(StoredColumns.apiKey.joined(separator: ", "))",
                binds
            ).first.map(Self.apiKey)
        }
    }

    public func recordKeyUsage(_ usage: [APIKeyID: Date]) async throws {
        guard !usage.isEmpty else { return }
        try await database.transaction { db in
            for (id, date) in usage {
                _ = try await db.query(
                    "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?",
                    [Optional(date).sqliteData, .text(id.rawValue)]
                )
            }
        }
    }

    public func countActiveOperatorKeys() async throws -> Int {
        let rows = try await database.read("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL")
        return try rows.first?.int("n") ?? 0
    }

    public func claimBootstrapStep(_ step: String, at: Date) async throws -> Bool {
        try await database.transaction { db in
            let rows = try await db.query(
                "INSERT INTO platform_bootstrap (step, completed_at) VALUES (?, ?) ON CONFLICT (step) DO NOTHING RETURNING step",
                [.text(step), Optional(at).sqliteData]
            )
            return !rows.isEmpty
        }
    }

    static func apiKey(_ row: SQLiteRow) throws -> APIKey {
        APIKey(
            id: APIKeyID(trusted: try row.text("id")), tenantID: row.optionalText("tenant_id").map(TenantID.init(trusted:)),
            serviceIdentityID: row.optionalText("service_identity_id").map(ServiceIdentityID.init(trusted:)),
            name: try row.text("name"), displayPrefix: try row.text("display_prefix"), digest: try row.text("digest"),
            scopes: StoredScopes.decode(try row.text("scopes")), createdAt: try row.date("created_at"),
            lastUsedAt: row.optionalDate("last_used_at"), revokedAt: row.optionalDate("revoked_at"), expiresAt: row.optionalDate("expires_at")
        )
    }

    // MARK: Service identities

    static let identityColumns = "id, tenant_id, name, description, created_at, disabled_at"

    public func insertServiceIdentity(_ identity: ServiceIdentity) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO service_identities (\(Self.identityColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                    [.text(identity.id.rawValue), .text(identity.tenantID.rawValue), .text(identity.name), .text(identity.description),
                     Optional(identity.createdAt).sqliteData, identity.disabledAt.sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintUniqueFailed {
            throw TallyError(.conflict, "a service identity named '\(identity.name)' already exists", field: "name")
        }
    }

    public func serviceIdentities(in scope: TenantScope, _ page: PageRequest) async throws -> Page<ServiceIdentity> {
        let rows = try await database.read(
            "SELECT \(Self.identityColumns) FROM service_identities WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
            [.text(scope.tenantID.rawValue), .text(page.after ?? ""), .integer(page.limit + 1)]
        )
        return page.page(from: try rows.map(Self.identity), id: \.id.rawValue)
    }

    public func serviceIdentity(_ id: ServiceIdentityID, in scope: TenantScope) async throws -> ServiceIdentity? {
        try await database.read(
            "SELECT \(Self.identityColumns) FROM service_identities WHERE id = ? AND tenant_id = ?",
            [.text(id.rawValue), .text(scope.tenantID.rawValue)]
        ).first.map(Self.identity)
    }

    public func disableServiceIdentity(_ id: ServiceIdentityID, in scope: TenantScope, at: Date) async throws -> ServiceIdentity? {
        try await database.transaction { db in
            let rows = try await db.query(
                """
                UPDATE service_identities SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ? AND tenant_id = ?
                RETURNING \(Self.identityColumns)
                """,
                [Optional(at).sqliteData, .text(id.rawValue), .text(scope.tenantID.rawValue)]
            )
            guard let row = rows.first else { return nil }
            _ = try await db.query(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE service_identity_id = ? AND tenant_id = ?",
                [Optional(at).sqliteData, .text(id.rawValue), .text(scope.tenantID.rawValue)]
            )
            return try Self.identity(row)
        }
    }

    static func identity(_ row: SQLiteRow) throws -> ServiceIdentity {
        ServiceIdentity(
            id: ServiceIdentityID(trusted: try row.text("id")), tenantID: TenantID(trusted: try row.text("tenant_id")),
            name: try row.text("name"), description: try row.text("description"), createdAt: try row.date("created_at"),
            disabledAt: row.optionalDate("disabled_at")
        )
    }

    // MARK: Idempotency keys

    public func claimIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, now: Date, lock: Duration, ttl: Duration) async throws -> IdempotencyDecision {
        let lockedUntil = now.addingTimeInterval(lock.totalSeconds), expiresAt = now.addingTimeInterval(ttl.totalSeconds)
        return try await database.transaction { db in
            let rows = try await db.query(
                "SELECT fingerprint, response_status, response_type, response_body, locked_until, expires_at FROM idempotency_keys WHERE tenant_id = ? AND key = ?",
                [.text(scope.tenantID.rawValue), .text(key)]
            )
            let existing = try rows.first.map { row -> IdempotencyRecord in
                var response: StoredResponse?
                if let status = row.column("response_status")?.integer, case .blob(let body)? = row.column("response_body") {
                    response = StoredResponse(status: status, contentType: row.optionalText("response_type") ?? "application/json", body: Array(buffer: body))
                }
                return IdempotencyRecord(fingerprint: try row.text("fingerprint"), response: response, lockedUntil: try row.date("locked_until"), expiresAt: try row.date("expires_at"))
            }
            let decision = IdempotencyDecision.decide(existing: existing, fingerprint: fingerprint, now: now)
            if decision == .proceed {
                _ = try await db.query(
                    """
                    INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_type, response_body, locked_until, expires_at)
                    VALUES (?, ?, ?, NULL, NULL, NULL, ?, ?)
                    ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, response_status = NULL, response_type = NULL,
                        response_body = NULL, locked_until = excluded.locked_until, expires_at = excluded.expires_at
                    """,
                    [.text(scope.tenantID.rawValue), .text(key), .text(fingerprint), Optional(lockedUntil).sqliteData, Optional(expiresAt).sqliteData]
                )
            }
            return decision
        }
    }

    public func completeIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, response: StoredResponse) async throws {
        try await database.transaction { db in
            _ = try await db.query(
                "UPDATE idempotency_keys SET response_status = ?, response_type = ?, response_body = ? WHERE tenant_id = ? AND key = ? AND fingerprint = ?",
                [.integer(response.status), .text(response.contentType), .blob(ByteBuffer(bytes: response.body)), .text(scope.tenantID.rawValue), .text(key), .text(fingerprint)]
            )
        }
    }

    public func releaseIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String) async throws {
        try await database.transaction { db in
            _ = try await db.query(
                "DELETE FROM idempotency_keys WHERE tenant_id = ? AND key = ? AND fingerprint = ? AND response_status IS NULL",
                [.text(scope.tenantID.rawValue), .text(key), .text(fingerprint)]
            )
        }
    }

    public func purgeExpiredIdempotencyKeys(now: Date, limit: Int) async throws -> Int {
        try await database.transaction { db in
            try await db.query(
                """
                DELETE FROM idempotency_keys WHERE (tenant_id, key) IN
                    (SELECT tenant_id, key FROM idempotency_keys WHERE expires_at < ? ORDER BY expires_at LIMIT ?)
                RETURNING 1
                """,
                [Optional(now).sqliteData, .integer(limit)]
            ).count
        }
    }
}
