import Core
import Scheduler
import SQLiteNIO

/// Webhook endpoints, deliveries and inbound events in the SQLite file.
public struct SQLiteWebhookStore: WebhookStore {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    static let endpointColumns = """
        id, tenant_id, url, description, event_types, secret, previous_secret, previous_secret_until, status, disabled_reason, failing_since, \
        created_at, updated_at
        """
    static let deliveryColumns = "id, endpoint_id, tenant_id, event_type, payload, status, attempts, job_id, created_at, updated_at, delivered_at"

    public func insertEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws {
        try await database.transaction { db in
            _ = try await db.query(
                "INSERT INTO webhook_endpoints (\(Self.endpointColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                Self.binds(endpoint, tenant: scope.tenantID)
            )
        }
    }

    public func endpoints(in scope: TenantScope) async throws -> [WebhookEndpoint] {
        try await database.read("SELECT \(Self.endpointColumns) FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id", [.text(scope.tenantID.rawValue)])
            .map(Self.endpoint)
    }

    public func endpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> WebhookEndpoint? {
        try await database.read(
            "SELECT \(Self.endpointColumns) FROM webhook_endpoints WHERE id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
        ).map(Self.endpoint).first
    }

    public func updateEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws -> Bool {
        try await database.transaction { db in
            let binds = Self.binds(endpoint, tenant: scope.tenantID)
            return !(try await db.query(
                """
                UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, secret = ?, previous_secret = ?, previous_secret_until = ?,
                    status = ?, disabled_reason = ?, failing_since = ?, updated_at = ?
                WHERE id = ? AND tenant_id = ? RETURNING id
                """,
                Array(binds[2...10]) + [binds[12], binds[0], binds[1]]
            )).isEmpty
        }
    }

    public func deleteEndpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> Bool {
        try await database.transaction { db in
            _ = try await db.query("DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)])
            return !(try await db.query(
                "DELETE FROM webhook_endpoints WHERE id = ? AND tenant_id = ? RETURNING id", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
            )).isEmpty
        }
    }

    public func insertDeliveries(_ deliveries: [(WebhookDelivery, JobSpec)], in scope: TenantScope, nowMillis: Int64) async throws -> [JobID] {
        guard !deliveries.isEmpty else { return [] }
        return try await database.transaction { db in
            let jobs = try await SQLiteJobQueue.insert(deliveries.map(\.1), on: db, in: database, nowMillis: nowMillis)
            for ((delivery, _), job) in zip(deliveries, jobs) {
                _ = try await db.query(
                    "INSERT INTO webhook_deliveries (\(Self.deliveryColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [.text(delivery.id.rawValue), .text(delivery.endpoint.rawValue), .text(scope.tenantID.rawValue), .text(delivery.eventType),
                     .text(delivery.payload), .text(delivery.status.rawValue), .text(WebhookDelivery.attemptsJSON(delivery.attempts)), .text(job.id.rawValue),
                     .integer(Int(delivery.createdAtMillis)), .integer(Int(delivery.updatedAtMillis)), .null]
                )
            }
            return jobs.map(\.id)
        }
    }

    public func delivery(_ id: WebhookMessageID, in scope: TenantScope) async throws -> WebhookDelivery? {
        try await database.read(
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
        ).map(Self.delivery).first
    }

    public func deliveries(of endpoint: WebhookEndpointID, in scope: TenantScope, limit: Int, before: WebhookMessageID?) async throws -> [WebhookDelivery] {
        try await database.read(
            """
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE endpoint_id = ? AND tenant_id = ? AND id < ?
            ORDER BY id DESC LIMIT ?
            """,
            [.text(endpoint.rawValue), .text(scope.tenantID.rawValue), .text(before?.rawValue ?? "~"), .integer(limit)]
        ).map(Self.delivery)
    }

    public func recordAttempt(_ attempt: WebhookDelivery.Attempt?, status: WebhookDelivery.Status, job: JobID?, of id: WebhookMessageID,
                              in scope: TenantScope, nowMillis: Int64) async throws {
        try await database.transaction { db in
            guard let row = try await db.query(
                "SELECT attempts FROM webhook_deliveries WHERE id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
            ).first else { return }
            var attempts = WebhookDelivery.parseAttempts(try row.text("attempts"))
            if let attempt { attempts.append(attempt) }
            _ = try await db.query(
                """
                UPDATE webhook_deliveries SET attempts = ?, status = ?, job_id = COALESCE(?, job_id), updated_at = ?,
                    delivered_at = CASE WHEN ? = 'delivered' THEN COALESCE(delivered_at, ?) ELSE delivered_at END
                WHERE id = ?
                """,
                [.text(WebhookDelivery.attemptsJSON(attempts)), .text(status.rawValue), job.map { .text($0.rawValue) } ?? .null, .integer(Int(nowMillis)),
                 .text(status.rawValue), .integer(Int(nowMillis)), .text(id.rawValue)]
            )
        }
    }

    public func recordOutcome(of id: WebhookEndpointID, success: Bool, in scope: TenantScope, nowMillis: Int64, disableAfterMillis: Int64) async throws
        -> (endpoint: WebhookEndpoint, disabledNow: Bool)?
    {
        try await database.transaction { db in
            guard var endpoint = try await db.query(
                "SELECT \(Self.endpointColumns) FROM webhook_endpoints WHERE id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
            ).map(Self.endpoint).first else { return nil }
            let disabledNow = WebhookOutcome.apply(success: success, to: &endpoint, nowMillis: nowMillis, disableAfterMillis: disableAfterMillis)
            _ = try await db.query(
                "UPDATE webhook_endpoints SET status = ?, disabled_reason = ?, failing_since = ?, updated_at = ? WHERE id = ?",
                [.text(endpoint.status.rawValue), endpoint.disabledReason.map { .text($0) } ?? .null,
                 endpoint.failingSinceMillis.map { .integer(Int($0)) } ?? .null, .integer(Int(endpoint.updatedAtMillis)), .text(id.rawValue)]
            )
            return (endpoint, disabledNow)
        }
    }

    public func retryDelivery(_ id: WebhookMessageID, job: JobSpec, in scope: TenantScope, nowMillis: Int64) async throws -> JobID? {
        try await database.transaction { db in
            guard try await !db.query(
                "SELECT id FROM webhook_deliveries WHERE id = ? AND tenant_id = ?", [.text(id.rawValue), .text(scope.tenantID.rawValue)]
            ).isEmpty else { return nil }
            let inserted = try await SQLiteJobQueue.insert([job], on: db, in: database, nowMillis: nowMillis)
            _ = try await db.query(
                "UPDATE webhook_deliveries SET status = 'pending', job_id = ?, updated_at = ? WHERE id = ?",
                [.text(inserted[0].id.rawValue), .integer(Int(nowMillis)), .text(id.rawValue)]
            )
            return inserted[0].id
        }
    }

    public func insertInbound(source: String, messageID: String, payload: String, job: JobSpec, nowMillis: Int64) async throws -> JobID? {
        try await database.transaction { db in
            let fresh = try await db.query(
                "INSERT INTO webhook_events_in (source, message_id, received_at, payload) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING source",
                [.text(source), .text(messageID), .integer(Int(nowMillis)), .text(payload)]
            )
            guard !fresh.isEmpty else { return nil }
            let inserted = try await SQLiteJobQueue.insert([job], on: db, in: database, nowMillis: nowMillis)
            _ = try await db.query(
                "UPDATE webhook_events_in SET job_id = ? WHERE source = ? AND message_id = ?", [.text(inserted[0].id.rawValue), .text(source), .text(messageID)]
            )
            return inserted[0].id
        }
    }

    public func inbound(source: String, messageID: String) async throws -> (payload: String, processedAtMillis: Int64?)? {
        try await database.read("SELECT payload, processed_at FROM webhook_events_in WHERE source = ? AND message_id = ?", [.text(source), .text(messageID)])
            .first.map { (try $0.text("payload"), $0.column("processed_at")?.integer.map(Int64.init)) }
    }

    public func markInboundProcessed(source: String, messageID: String, nowMillis: Int64) async throws -> Bool {
        try await database.transaction { db in
            !(try await db.query(
                "UPDATE webhook_events_in SET processed_at = COALESCE(processed_at, ?) WHERE source = ? AND message_id = ? RETURNING source",
                [.integer(Int(nowMillis)), .text(source), .text(messageID)]
            )).isEmpty
        }
    }

    // MARK: Rows

    static func binds(_ endpoint: WebhookEndpoint, tenant: TenantID) -> [SQLiteData] {
        [
            .text(endpoint.id.rawValue), .text(tenant.rawValue), .text(endpoint.url), .text(endpoint.description),
            .text(StoredWebhooks.eventTypesJSON(endpoint.eventTypes)), .text(endpoint.secret.text), endpoint.previousSecret.map { .text($0.text) } ?? .null,
            endpoint.previousSecretUntilMillis.map { .integer(Int($0)) } ?? .null, .text(endpoint.status.rawValue),
            endpoint.disabledReason.map { .text($0) } ?? .null, endpoint.failingSinceMillis.map { .integer(Int($0)) } ?? .null,
            .integer(Int(endpoint.createdAtMillis)), .integer(Int(endpoint.updatedAtMillis)),
        ]
    }

    static func endpoint(_ row: SQLiteRow) throws -> WebhookEndpoint {
        guard let status = WebhookEndpoint.Status(rawValue: try row.text("status")) else { throw StorageDecodingError(column: "status") }
        return WebhookEndpoint(
            id: WebhookEndpointID(trusted: try row.text("id")), tenant: TenantID(trusted: try row.text("tenant_id")), url: try row.text("url"),
            description: try row.text("description"), eventTypes: StoredWebhooks.eventTypes(try row.text("event_types")),
            secret: try StoredWebhooks.secret(try row.text("secret"), column: "secret"),
            previousSecret: try row.optionalText("previous_secret").map { try StoredWebhooks.secret($0, column: "previous_secret") },
            previousSecretUntilMillis: row.column("previous_secret_until")?.integer.map(Int64.init), status: status,
            disabledReason: row.optionalText("disabled_reason"), failingSinceMillis: row.column("failing_since")?.integer.map(Int64.init),
            createdAtMillis: Int64(try row.int("created_at")), updatedAtMillis: Int64(try row.int("updated_at"))
        )
    }

    static func delivery(_ row: SQLiteRow) throws -> WebhookDelivery {
        guard let status = WebhookDelivery.Status(rawValue: try row.text("status")) else { throw StorageDecodingError(column: "status") }
        return WebhookDelivery(
            id: WebhookMessageID(trusted: try row.text("id")), endpoint: WebhookEndpointID(trusted: try row.text("endpoint_id")),
            tenant: TenantID(trusted: try row.text("tenant_id")), eventType: try row.text("event_type"), payload: try row.text("payload"), status: status,
            attempts: WebhookDelivery.parseAttempts(try row.text("attempts")), jobID: row.optionalText("job_id").map(JobID.init(trusted:)),
            createdAtMillis: Int64(try row.int("created_at")), updatedAtMillis: Int64(try row.int("updated_at")),
            deliveredAtMillis: row.column("delivered_at")?.integer.map(Int64.init)
        )
    }
}
