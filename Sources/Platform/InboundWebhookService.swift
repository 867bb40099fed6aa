import Core
import Scheduler
import Storage

/// Webhooks other systems send Tally (`POST /v1/webhooks/in/{source}`): verified against the
/// source's Standard Webhooks secret with a 5-minute tolerance, stored once per message id (a
/// replay changes nothing), and processed by an idempotent `webhook.inbound` job.
public struct InboundWebhookService: Sendable {
    public static let kind = "webhook.inbound"

    let store: any WebhookStore
    let jobs: any JobQueue
    let secrets: [String: WebhookSignature.Secret]
    let clock: any TallyClock

    /// `secrets` maps each source's name to its `whsec_` secret; unparsable ones are left out.
    public init(store: any WebhookStore, jobs: any JobQueue, secrets: [String: String], clock: any TallyClock) {
        self.store = store
        self.jobs = jobs
        self.secrets = secrets.compactMapValues(WebhookSignature.Secret.init)
        self.clock = clock
    }

    /// What became of a received message.
    public enum Outcome: String, Sendable { case accepted, duplicate }

    /// Verifies and stores one message; `not_found` for an unknown source, `invalid_signature`
    /// (401) when the signature or timestamp does not hold, `malformed_json` for a body that is
    /// not JSON.
    public func receive(source: String, id: String?, timestamp: String?, signature: String?, body: [UInt8]) async throws -> Outcome {
        guard let secret = secrets[source] else { throw TallyError.notFound("webhook source") }
        let now = clock.now().timeIntervalSince1970
        do {
            try WebhookSignature.verify(id: id, timestamp: timestamp, signatures: signature, body: body, secrets: [secret], nowSeconds: Int64(now))
        } catch {
            throw TallyError(.invalidSignature, error.description)
        }
        guard let id, id.utf8.count <= 256 else { throw TallyError(.invalidSignature, "webhook-id is at most 256 bytes") }
        guard (try? JSONParser.parse(body)) != nil else { throw TallyError(.malformedJSON, "the webhook body is not JSON") }
        let nowMillis = Int64((now * 1_000).rounded(.down))
        let args = String(decoding: JSONWriter.encode(.object(["source": .string(source), "message_id": .string(id)])), as: UTF8.self)
        let job = JobSpec(kind: Self.kind, queue: "webhooks", args: args, maxAttempts: 10)
        guard let jobID = try await store.insertInbound(source: source, messageID: id, payload: String(decoding: body, as: UTF8.self), job: job,
                                                         nowMillis: nowMillis)
        else { return .duplicate }
        try? await jobs.dispatch([jobID], nowMillis: nowMillis)
        return .accepted
    }
}
