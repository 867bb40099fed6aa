import Core
import Logging
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The production driver for the platform tables, on a pooled `PostgresClient`. All of its SQL lives here.
public final class PostgresPlatformStore: PlatformStore, MigrationDriver, IdempotencyStore {
    public let client: PostgresClient
    let logger: Logger
    public var backendName: String { "postgres" }

    /// The advisory-lock key that serialises migrations across nodes ("tally" in ASCII).
    static let migrationLockKey: Int64 = 0x74_61_6C_6C_79

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }

    private func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    // MARK: Migrations

    public func migrate() async throws -> [Int] {
        try await client.withConnection { connection in
            // A session-level advisory lock: a second node starting at once waits here, then finds nothing pending.
            try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger)
            do {
                let applied = try await self.migrateLocked(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                throw error
            }
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> [Int] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: logger).collect()
        let applied = try Self.applied(rows)
        let pending = try MigrationPlan.pending(available: Migration.embedded(.postgres), applied: applied)
        for migration in pending {
            try await connection.withTransaction(logger: logger) { tx in
                for statement in SQLScript.statements(migration.sql) {
                    try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await tx.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger
                )
            }
        }
        return pending.map(\.version)
    }

    public func appliedMigrations() async throws -> [AppliedMigration] {
        let exists = try await rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists.first?["present"].decode(Bool.self) == true else { return [] }
        let rows = try await client.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: logger).collect()
        return try Self.applied(rows)
    }

    private static func applied(_ rows: [PostgresRow]) throws -> [AppliedMigration] {
        try rows.map { row in
            let (version, name, checksum) = try row.decode((Int, String, String).self)
            return AppliedMigration(version: version, name: name, checksum: checksum)
        }
    }

    // MARK: Tenants

    static let tenantColumns = "id, slug, name, status, settings::text AS settings, created_at, updated_at"

    public func insertTenant(_ tenant: Tenant) async throws {
        let settings = try StoredJSON.encode(tenant.settings)
        do {
            try await client.query(
                """
                INSERT INTO tenants (id, slug, name, status, settings, created_at, updated_at)
                VALUES (\(tenant.id.rawValue), \(tenant.slug), \(tenant.name), \(tenant.status.rawValue), \(settings)::jsonb,
                        \(tenant.createdAt), \(tenant.updatedAt))
                """,
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw TallyError(.conflict, "a tenant with slug '\(tenant.slug)' already exists", field: "slug")
        }
    }

    public func tenant(id: TenantID) async throws -> Tenant? {
        try await rows("SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE id = \(id.rawValue)").first.map(Self.tenant)
    }

    public func tenant(slug: String) async throws -> Tenant? {
        try await rows("SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE slug = \(slug)").first.map(Self.tenant)
    }

    public func listTenants(_ page: PageRequest) async throws -> Page<Tenant> {
        let found = try await rows(
            "SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE id > \(page.after ?? "") ORDER BY id LIMIT \(page.limit + 1)"
        )
        return page.page(from: try found.map(Self.tenant), id: \.id.rawValue)
    }

    public func updateTenant(_ id: TenantID, expectedStatus: TenantStatus, change: TenantChange, at: Date) async throws -> Tenant? {
        let settings = try change.settings.map(StoredJSON.encode)
        return try await rows(
            """
            UPDATE tenants SET name = COALESCE(\(change.name), name), status = COALESCE(\(change.status?.rawValue), status),
                settings = COALESCE(\(settings)::jsonb, settings), updated_at = \(at)
            WHERE id = \(id.rawValue) AND status = \(expectedStatus.rawValue)
            RETURNING \(unescaped: Self.tenantColumns)
            """
        ).first.map(Self.tenant)
    }

    static func tenant(_ row: PostgresRandomAccessRow) throws -> Tenant {
        guard let status = TenantStatus(rawValue: try row["status"].decode(String.self)) else { throw StorageDecodingError(column: "status") }
        return Tenant(
            id: TenantID(trusted: try row["id"].decode(String.self)), slug: try row["slug"].decode(String.self),
            name: try row["name"].decode(String.self), status: status,
            settings: try StoredJSON.decodeObject(try row["settings"].decode(String.self)),
            createdAt: try row["created_at"].decode(Date.self), updatedAt: try row["updated_at"].decode(Date.self)
        )
    }

    // MARK: API keys

    static let keyColumns = StoredColumns.apiKey.map { "k." + $0 }.joined(separator: ", ")

    public func insertAPIKey(_ key: APIKey) async throws {
        do {
            try await client.query(
                """
                INSERT INTO api_keys (id, tenant_id, service_identity_id, name, display_prefix, digest, scopes, created_at, expires_at)
                VALUES (\(key.id.rawValue), \(key.tenantID?.rawValue), \(key.serviceIdentityID?.rawValue), \(key.name),
                        \(key.displayPrefix), \(key.digest), \(StoredScopes.encode(key.scopes)), \(key.createdAt), \(key.expiresAt))
                """,
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            throw TallyError(.notFound, "the key's tenant or service identity does not exist", context: String(reflecting: error))
        }
    }

    public func credential(for id: APIKeyID) async throws -> StoredCredential? {
        try await rows(
            """
            SELECT \(unescaped: Self.keyColumns), t.status AS tenant_status
            FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.id = \(id.rawValue)
            """
        ).first.map { row in
            StoredCredential(
                key: try Self.apiKey(row),
                tenantStatus: try row["tenant_status"].decode(String?.self).flatMap(TenantStatus.init(rawValue:))
            )
        }
    }

    public func apiKeys(in scope: TenantScope, _ page: PageRequest) async throws -> Page<APIKey> {
        let found = try await rows(
            """
            SELECT \(unescaped: Self.keyColumns) FROM api_keys k
            WHERE k.tenant_id = \(scope.tenantID.rawValue) AND k.id > \(page.after ?? "") ORDER BY k.id LIMIT \(page.limit + 1)
            """
        )
        return page.page(from: try found.map(Self.apiKey), id: \.id.rawValue)
    }

    public func apiKey(_ id: APIKeyID, in scope: TenantScope) async throws -> APIKey? {
        try await rows(
            "SELECT \(unescaped: Self.keyColumns) FROM api_keys k WHERE k.id = \(id.rawValue) AND k.tenant_id = \(scope.tenantID.rawValue)"
        ).first.map(Self.apiKey)
    }

    public func operatorKeys(_ page: PageRequest) async throws -> Page<APIKey> {
        let found = try await rows(
            """
            SELECT \(unescaped: Self.keyColumns) FROM api_keys k
            WHERE k.tenant_id IS NULL AND k.id > \(page.after ?? "") ORDER BY k.id LIMIT \(page.limit + 1)
            """
        )
        return page.page(from: try found.map(Self.apiKey), id: \.id.rawValue)
    }

    public func revokeAPIKey(_ id: APIKeyID, in scope: TenantScope?, at: Date) async throws -> APIKey? {
        // `IS NOT DISTINCT FROM` matches NULL to NULL: operator keys when no scope is given.
        try await rows(
            """
            UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, \(at))
            WHERE k.id = \(id.rawValue) AND k.tenant_id IS NOT DISTINCT FROM \(scope?.tenantID.rawValue)
            RETURNING \(unescaped: Self.keyColumns)
            """
        ).first.map(Self.apiKey)
    }

    public func recordKeyUsage(_ usage: [APIKeyID: Date]) async throws {
        guard !usage.isEmpty else { return }
        let ids = usage.keys.map(\.rawValue)
        let dates = usage.keys.map { usage[$0]! }
        try await client.query(
            """
            UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.used_at)
            FROM unnest(\(ids)::text[], \(dates)::timestamptz[]) AS u(id, used_at) WHERE k.id = u.id
            """,
            logger: logger
        )
    }

    public func countActiveOperatorKeys() async throws -> Int {
        try await rows("SELECT COUNT(*)::int AS n FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL")
            .first?["n"].decode(Int.self) ?? 0
    }

    public func claimBootstrapStep(_ step: String, at: Date) async throws -> Bool {
        !(try await rows(
            "INSERT INTO platform_bootstrap (step, completed_at) VALUES (\(step), \(at)) ON CONFLICT (step) DO NOTHING RETURNING step"
        )).isEmpty
    }

    static func apiKey(_ row: PostgresRandomAccessRow) throws -> APIKey {
        APIKey(
            id: APIKeyID(trusted: try row["id"].decode(String.self)),
            tenantID: try row["tenant_id"].decode(String?.self).map(TenantID.init(trusted:)),
            serviceIdentityID: try row["service_identity_id"].decode(String?.self).map(ServiceIdentityID.init(trusted:)),
            name: try row["name"].decode(String.self), displayPrefix: try row["display_prefix"].decode(String.self),
            digest: try row["digest"].decode(String.self), scopes: StoredScopes.decode(try row["scopes"].decode(String.self)),
            createdAt: try row["created_at"].decode(Date.self), lastUsedAt: try row["last_used_at"].decode(Date?.self),
            revokedAt: try row["revoked_at"].decode(Date?.self), expiresAt: try row["expires_at"].decode(Date?.self)
        )
    }

    // MARK: Service identities

    static let identityColumns = "id, tenant_id, name, description, created_at, disabled_at"

    public func insertServiceIdentity(_ identity: ServiceIdentity) async throws {
        do {
            try await client.query(
                """
                INSERT INTO service_identities (id, tenant_id, name, description, created_at, disabled_at)
                VALUES (\(identity.id.rawValue), \(identity.tenantID.rawValue), \(identity.name), \(identity.description),
                        \(identity.createdAt), \(identity.disabledAt))
                """,
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw TallyError(.conflict, "a service identity named '\(identity.name)' already exists", field: "name")
        }
    }

    public func serviceIdentities(in scope: TenantScope, _ page: PageRequest) async throws -> Page<ServiceIdentity> {
        let found = try await rows(
            """
            SELECT \(unescaped: Self.identityColumns) FROM service_identities
            WHERE tenant_id = \(scope.tenantID.rawValue) AND id > \(page.after ?? "") ORDER BY id LIMIT \(page.limit + 1)
            """
        )
        return page.page(from: try found.map(Self.identity), id: \.id.rawValue)
    }

    public func serviceIdentity(_ id: ServiceIdentityID, in scope: TenantScope) async throws -> ServiceIdentity? {
        try await rows(
            "SELECT \(unescaped: Self.identityColumns) FROM service_identities WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)"
        ).first.map(Self.identity)
    }

    public func disableServiceIdentity(_ id: ServiceIdentityID, in scope: TenantScope, at: Date) async throws -> ServiceIdentity? {
        let logger = self.logger
        return try await client.transaction(logger: logger) { tx -> ServiceIdentity? in
            let updated = try await tx.query(
                """
                UPDATE service_identities SET disabled_at = COALESCE(disabled_at, \(at))
                WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)
                RETURNING \(unescaped: Self.identityColumns)
                """,
                logger: logger
            ).collect()
            guard let row = updated.first else { return nil }
            try await tx.query(
                """
                UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(at))
                WHERE service_identity_id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)
                """,
                logger: logger
            )
            return try Self.identity(row.makeRandomAccess())
        }
    }

    static func identity(_ row: PostgresRandomAccessRow) throws -> ServiceIdentity {
        ServiceIdentity(
            id: ServiceIdentityID(trusted: try row["id"].decode(String.self)),
            tenantID: TenantID(trusted: try row["tenant_id"].decode(String.self)),
            name: try row["name"].decode(String.self), description: try row["description"].decode(String.self),
            createdAt: try row["created_at"].decode(Date.self), disabledAt: try row["disabled_at"].decode(Date?.self)
        )
    }

    // MARK: Idempotency keys

    public func claimIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, now: Date, lock: Duration, ttl: Duration) async throws -> IdempotencyDecision {
        let lockedUntil = now.addingTimeInterval(lock.totalSeconds), expiresAt = now.addingTimeInterval(ttl.totalSeconds)
        let logger = self.logger
        return try await client.transaction(logger: logger) { tx -> IdempotencyDecision in
            // The first claim wins outright; otherwise lock the row and decide from it.
            let inserted = try await tx.query(
                """
                INSERT INTO idempotency_keys (tenant_id, key, fingerprint, locked_until, expires_at)
                VALUES (\(scope.tenantID.rawValue), \(key), \(fingerprint), \(lockedUntil), \(expiresAt))
                ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key
                """,
                logger: logger
            ).collect()
            if !inserted.isEmpty { return .proceed }
            let rows = try await tx.query(
                """
                SELECT fingerprint, response_status, response_type, response_body, locked_until, expires_at FROM idempotency_keys
                WHERE tenant_id = \(scope.tenantID.rawValue) AND key = \(key) FOR UPDATE
                """,
                logger: logger
            ).collect()
            let existing = try rows.first.map { row -> IdempotencyRecord in
                let (stored, status, type, body, locked, expires) = try row.decode((String, Int?, String?, ByteBuffer?, Date, Date).self)
                let response = status.map { StoredResponse(status: $0, contentType: type ?? "application/json", body: body.map { Array(buffer: $0) } ?? []) }
                return IdempotencyRecord(fingerprint: stored, response: response, lockedUntil: locked, expiresAt: expires)
            }
            let decision = IdempotencyDecision.decide(existing: existing, fingerprint: fingerprint, now: now)
            if decision == .proceed {
                try await tx.query(
                    """
                    UPDATE idempotency_keys SET fingerprint = \(fingerprint), response_status = NULL, response_type = NULL, response_body = NULL,
                        locked_until = \(lockedUntil), expires_at = \(expiresAt)
                    WHERE tenant_id = \(scope.tenantID.rawValue) AND key = \(key)
                    """,
                    logger: logger
                )
            }
            return decision
        }
    }

    public func completeIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String, response: StoredResponse) async throws {
        try await client.query(
            """
            UPDATE idempotency_keys SET response_status = \(response.status), response_type = \(response.contentType),
                response_body = \(ByteBuffer(bytes: response.body))
            WHERE tenant_id = \(scope.tenantID.rawValue) AND key = \(key) AND fingerprint = \(fingerprint)
            """,
            logger: logger
        )
    }

    public func releaseIdempotencyKey(_ key: String, in scope: TenantScope, fingerprint: String) async throws {
        try await client.query(
            """
            DELETE FROM idempotency_keys
            WHERE tenant_id = \(scope.tenantID.rawValue) AND key = \(key) AND fingerprint = \(fingerprint) AND response_status IS NULL
            """,
            logger: logger
        )
    }

    public func purgeExpiredIdempotencyKeys(now: Date, limit: Int) async throws -> Int {
        try await client.query(
            """
            WITH gone AS (
                DELETE FROM idempotency_keys WHERE (tenant_id, key) IN
                    (SELECT tenant_id, key FROM idempotency_keys WHERE expires_at < \(now) ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
            )
            SELECT count(*) FROM gone
            """,
            logger: logger
        ).collect().first?.decode(Int.self) ?? 0
    }
}
