import Core
import Logging
import PostgresNIO
import Scheduler

/// Webhook endpoints, deliveries and inbound events on PostgreSQL.
public struct PostgresWebhookStore: WebhookStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let endpointColumns = """
        id, tenant_id, url, description, event_types::text, secret, previous_secret, previous_secret_until, status, disabled_reason, failing_since, \
        created_at, updated_at
        """
    static let deliveryColumns = "id, endpoint_id, tenant_id, event_type, payload, status, attempts::text, job_id, created_at, updated_at, delivered_at"

    typealias EndpointRow = (String, String, String, String, String, String, String?, Int64?, String, String?, Int64?, Int64, Int64)
    typealias DeliveryRow = (String, String, String, String, String, String, String, String?, Int64, Int64, Int64?)

    public func insertEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws {
        try await client.query(
            """
            INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, secret, previous_secret, previous_secret_until, status,
                                           disabled_reason, failing_since, created_at, updated_at)
            VALUES (\(endpoint.id.rawValue), \(scope.tenantID.rawValue), \(endpoint.url), \(endpoint.description),
                    \(StoredWebhooks.eventTypesJSON(endpoint.eventTypes))::jsonb, \(endpoint.secret.text), \(endpoint.previousSecret?.text),
                    \(endpoint.previousSecretUntilMillis), \(endpoint.status.rawValue), \(endpoint.disabledReason), \(endpoint.failingSinceMillis),
                    \(endpoint.createdAtMillis), \(endpoint.updatedAtMillis))
            """,
            logger: logger
        )
    }

    public func endpoints(in scope: TenantScope) async throws -> [WebhookEndpoint] {
        try await readEndpoints(
            "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE tenant_id = \(scope.tenantID.rawValue) ORDER BY id", on: nil
        )
    }

    public func endpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> WebhookEndpoint? {
        try await readEndpoints(
            "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)", on: nil
        ).first
    }

    public func updateEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE webhook_endpoints SET url = \(endpoint.url), description = \(endpoint.description),
                event_types = \(StoredWebhooks.eventTypesJSON(endpoint.eventTypes))::jsonb, secret = \(endpoint.secret.text),
                previous_secret = \(endpoint.previousSecret?.text), previous_secret_until = \(endpoint.previousSecretUntilMillis),
                status = \(endpoint.status.rawValue), disabled_reason = \(endpoint.disabledReason), failing_since = \(endpoint.failingSinceMillis),
                updated_at = \(endpoint.updatedAtMillis)
            WHERE id = \(endpoint.id.rawValue) AND tenant_id = \(scope.tenantID.rawValue) RETURNING id
            """,
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    public func deleteEndpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> Bool {
        let rows = try await client.query(
            "DELETE FROM webhook_endpoints WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue) RETURNING id", logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    public func insertDeliveries(_ deliveries: [(WebhookDelivery, JobSpec)], in scope: TenantScope, nowMillis: Int64) async throws -> [JobID] {
        guard !deliveries.isEmpty else { return [] }
        return try await client.transaction(logger: logger) { tx in
            let jobs = try await PostgresJobStore.insert(deliveries.map(\.1), on: tx, nowMillis: nowMillis, logger: logger).map(\.0.id)
            let items = deliveries.map(\.0)
            try await tx.query(
                """
                INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_type, payload, status, attempts, job_id, created_at, updated_at)
                SELECT i, e, \(scope.tenantID.rawValue), t, p, 'pending', '[]', j, \(nowMillis), \(nowMillis)
                FROM unnest(\(items.map(\.id.rawValue))::text[], \(items.map(\.endpoint.rawValue))::text[], \(items.map(\.eventType))::text[],
                            \(items.map(\.payload))::text[], \(jobs.map(\.rawValue))::text[]) AS d(i, e, t, p, j)
                """,
                logger: logger
            )
            return jobs
        }
    }

    public func delivery(_ id: WebhookMessageID, in scope: TenantScope) async throws -> WebhookDelivery? {
        try await readDeliveries(
            "SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)"
        ).first
    }

    public func deliveries(of endpoint: WebhookEndpointID, in scope: TenantScope, limit: Int, before: WebhookMessageID?) async throws -> [WebhookDelivery] {
        try await readDeliveries(
            """
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries
            WHERE endpoint_id = \(endpoint.rawValue) AND tenant_id = \(scope.tenantID.rawValue) AND id < \(before?.rawValue ?? "~")
            ORDER BY id DESC LIMIT \(limit)
            """
        )
    }

    public func recordAttempt(_ attempt: WebhookDelivery.Attempt?, status: WebhookDelivery.Status, job: JobID?, of id: WebhookMessageID,
                              in scope: TenantScope, nowMillis: Int64) async throws {
        let appended = attempt.map { String(decoding: JSONWriter.encode(.array([$0.json])), as: UTF8.self) } ?? "[]"
        try await client.query(
            """
            UPDATE webhook_deliveries SET attempts = attempts || \(appended)::jsonb, status = \(status.rawValue), job_id = COALESCE(\(job?.rawValue), job_id),
                updated_at = \(nowMillis), delivered_at = CASE WHEN \(status.rawValue) = 'delivered' THEN COALESCE(delivered_at, \(nowMillis)) ELSE delivered_at END
            WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)
            """,
            logger: logger
        )
    }

    public func recordOutcome(of id: WebhookEndpointID, success: Bool, in scope: TenantScope, nowMillis: Int64, disableAfterMillis: Int64) async throws
        -> (endpoint: WebhookEndpoint, disabledNow: Bool)?
    {
        try await client.transaction(logger: logger) { tx in
            guard var endpoint = try await readEndpoints(
                """
                SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue)
                FOR UPDATE
                """, on: tx
            ).first else { return nil }
            let disabledNow = WebhookOutcome.apply(success: success, to: &endpoint, nowMillis: nowMillis, disableAfterMillis: disableAfterMillis)
            try await tx.query(
                """
                UPDATE webhook_endpoints SET status = \(endpoint.status.rawValue), disabled_reason = \(endpoint.disabledReason),
                    failing_since = \(endpoint.failingSinceMillis), updated_at = \(endpoint.updatedAtMillis)
                WHERE id = \(id.rawValue)
                """,
                logger: logger
            )
            return (endpoint, disabledNow)
        }
    }

    public func retryDelivery(_ id: WebhookMessageID, job: JobSpec, in scope: TenantScope, nowMillis: Int64) async throws -> JobID? {
        try await client.transaction(logger: logger) { tx in
            let found = try await tx.query(
                "SELECT id FROM webhook_deliveries WHERE id = \(id.rawValue) AND tenant_id = \(scope.tenantID.rawValue) FOR UPDATE", logger: logger
            )
            var exists = false
            for try await _ in found { exists = true }
            guard exists else { return nil }
            let jobID = try await PostgresJobStore.insert([job], on: tx, nowMillis: nowMillis, logger: logger)[0].0.id
            try await tx.query(
                "UPDATE webhook_deliveries SET status = 'pending', job_id = \(jobID.rawValue), updated_at = \(nowMillis) WHERE id = \(id.rawValue)",
                logger: logger
            )
            return jobID
        }
    }

    public func insertInbound(source: String, messageID: String, payload: String, job: JobSpec, nowMillis: Int64) async throws -> JobID? {
        try await client.transaction(logger: logger) { tx in
            let fresh = try await tx.query(
                """
                INSERT INTO webhook_events_in (source, message_id, received_at, payload) VALUES (\(source), \(messageID), \(nowMillis), \(payload))
                ON CONFLICT DO NOTHING RETURNING source
                """,
                logger: logger
            )
            var inserted = false
            for try await _ in fresh { inserted = true }
            guard inserted else { return nil }
            let jobID = try await PostgresJobStore.insert([job], on: tx, nowMillis: nowMillis, logger: logger)[0].0.id
            try await tx.query(
                "UPDATE webhook_events_in SET job_id = \(jobID.rawValue) WHERE source = \(source) AND message_id = \(messageID)", logger: logger
            )
            return jobID
        }
    }

    public func inbound(source: String, messageID: String) async throws -> (payload: String, processedAtMillis: Int64?)? {
        let rows = try await client.query(
            "SELECT payload, processed_at FROM webhook_events_in WHERE source = \(source) AND message_id = \(messageID)", logger: logger
        )
        for try await (payload, processed) in rows.decode((String, Int64?).self) { return (payload, processed) }
        return nil
    }

    public func markInboundProcessed(source: String, messageID: String, nowMillis: Int64) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE webhook_events_in SET processed_at = COALESCE(processed_at, \(nowMillis)) WHERE source = \(source) AND message_id = \(messageID)
            RETURNING source
            """,
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    // MARK: Rows

    private func readEndpoints(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [WebhookEndpoint] {
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        var out: [WebhookEndpoint] = []
        for try await row in rows.decode(EndpointRow.self) {
            let (id, tenant, url, description, types, secret, previous, previousUntil, status, reason, failing, created, updated) = row
            guard let status = WebhookEndpoint.Status(rawValue: status) else { throw StorageDecodingError(column: "status") }
            out.append(WebhookEndpoint(
                id: WebhookEndpointID(trusted: id), tenant: TenantID(trusted: tenant), url: url, description: description,
                eventTypes: StoredWebhooks.eventTypes(types), secret: try StoredWebhooks.secret(secret, column: "secret"),
                previousSecret: try previous.map { try StoredWebhooks.secret($0, column: "previous_secret") }, previousSecretUntilMillis: previousUntil,
                status: status, disabledReason: reason, failingSinceMillis: failing, createdAtMillis: created, updatedAtMillis: updated
            ))
        }
        return out
    }

    private func readDeliveries(_ query: PostgresQuery) async throws -> [WebhookDelivery] {
        var out: [WebhookDelivery] = []
        for try await row in try await client.query(query, logger: logger).decode(DeliveryRow.self) {
            let (id, endpoint, tenant, type, payload, status, attempts, job, created, updated, delivered) = row
            guard let status = WebhookDelivery.Status(rawValue: status) else { throw StorageDecodingError(column: "status") }
            out.append(WebhookDelivery(
                id: WebhookMessageID(trusted: id), endpoint: WebhookEndpointID(trusted: endpoint), tenant: TenantID(trusted: tenant), eventType: type,
                payload: payload, status: status, attempts: WebhookDelivery.parseAttempts(attempts), jobID: job.map(JobID.init(trusted:)),
                createdAtMillis: created, updatedAtMillis: updated, deliveredAtMillis: delivered
            ))
        }
        return out
    }
}
