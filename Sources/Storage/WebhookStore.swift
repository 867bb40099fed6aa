import Core
import Scheduler

/// Outbound webhook endpoints and deliveries, and inbound webhook events. Everything tenant-owned
/// takes the `TenantScope`. Deliveries are written with their jobs in one transaction (the
/// outbox): the caller dispatches the returned jobs after the commit, or the reconciler does.
public protocol WebhookStore: Sendable {
    func insertEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws
    func endpoints(in scope: TenantScope) async throws -> [WebhookEndpoint]
    func endpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> WebhookEndpoint?
    /// Replaces the endpoint's fields; `false` when the tenant has no such endpoint.
    func updateEndpoint(_ endpoint: WebhookEndpoint, in scope: TenantScope) async throws -> Bool
    /// Deletes the endpoint and its delivery log; `false` when the tenant has no such endpoint.
    func deleteEndpoint(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> Bool

    /// Records deliveries and their jobs in one transaction; answers the jobs to dispatch.
    func insertDeliveries(_ deliveries: [(WebhookDelivery, JobSpec)], in scope: TenantScope, nowMillis: Int64) async throws -> [JobID]
    func delivery(_ id: WebhookMessageID, in scope: TenantScope) async throws -> WebhookDelivery?
    /// An endpoint's deliveries, newest first, before the cursor.
    func deliveries(of endpoint: WebhookEndpointID, in scope: TenantScope, limit: Int, before: WebhookMessageID?) async throws -> [WebhookDelivery]
    /// Appends an attempt and sets the delivery's status; for a new job (a manual retry), its id.
    func recordAttempt(_ attempt: WebhookDelivery.Attempt?, status: WebhookDelivery.Status, job: JobID?, of id: WebhookMessageID,
                       in scope: TenantScope, nowMillis: Int64) async throws
    /// Records an endpoint's outcome: success clears its failing streak; failure starts one (or
    /// keeps it), and disables the endpoint once it has failed for `disableAfterMillis`.
    /// Answers the endpoint as it is afterwards, and whether this call disabled it.
    func recordOutcome(of id: WebhookEndpointID, success: Bool, in scope: TenantScope, nowMillis: Int64, disableAfterMillis: Int64) async throws
        -> (endpoint: WebhookEndpoint, disabledNow: Bool)?
    /// Records a manual retry's job for a delivery (outbox, one transaction); answers the job.
    func retryDelivery(_ id: WebhookMessageID, job: JobSpec, in scope: TenantScope, nowMillis: Int64) async throws -> JobID?

    /// Records an inbound event (and the job that processes it) unless that source already
    /// delivered that message id; answers the job, or `nil` for a replay.
    func insertInbound(source: String, messageID: String, payload: String, job: JobSpec, nowMillis: Int64) async throws -> JobID?
    /// An inbound event: its payload and when it was processed.
    func inbound(source: String, messageID: String) async throws -> (payload: String, processedAtMillis: Int64?)?
    /// Marks an inbound event processed (once: a second call keeps the first time); `false` when
    /// there is no such event.
    func markInboundProcessed(source: String, messageID: String, nowMillis: Int64) async throws -> Bool
}

/// How both drivers read and write webhook rows.
enum StoredWebhooks {
    static func eventTypesJSON(_ types: [String]) -> String {
        String(decoding: JSONWriter.encode(.array(types.map { .string($0) })), as: UTF8.self)
    }

    static func eventTypes(_ text: String) -> [String] {
        guard case .array(let items)? = try? JSONParser.parse(text.utf8) else { return [] }
        return items.compactMap { if case .string(let type) = $0 { return type } else { return nil } }
    }

    static func secret(_ text: String, column: String) throws -> WebhookSignature.Secret {
        guard let secret = WebhookSignature.Secret(text) else { throw StorageDecodingError(column: column) }
        return secret
    }
}
