import Actors
import Core
import Scheduler
import Storage

/// Processes a stored inbound webhook: marks it processed, once however often it runs.
/// (What an event means to billing, payment providers' callbacks, arrives with those features.)
public struct InboundWebhookJob: JobHandler {
    public let kind = InboundWebhookService.kind
    let store: any WebhookStore
    let clock: any TallyClock

    public init(store: any WebhookStore, clock: any TallyClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    public func run(_ job: JobRecord) async throws {
        guard case .object(let args)? = try? JSONParser.parse(job.spec.args.utf8), case .string(let source)? = args["source"],
              case .string(let id)? = args["message_id"]
        else { throw JobError.permanent("webhook.inbound needs {\"source\", \"message_id\"}") }
        let now = clock.nowMillis
        guard try await store.markInboundProcessed(source: source, messageID: id, nowMillis: now) else {
            throw JobError.permanent("the inbound webhook \(source)/\(id) no longer exists")
        }
    }
}
