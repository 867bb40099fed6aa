import Core
import HTTPTypes
import Hummingbird
import Platform

/// `POST /v1/webhooks/in/{source}`: signed webhooks from other systems. No API key: the
/// Standard Webhooks signature under the source's secret (TALLY_WEBHOOK_INBOUND_SECRETS) is
/// the credential. `202 {"status": "accepted"}` for a new message, `200 {"status":
/// "duplicate"}` for one already received (so its sender stops retrying), `401
/// invalid_signature`, `404` for an unknown source.
struct InboundWebhookRoutes {
    let inbound: InboundWebhookService
    let bodyLimit: Int

    func register(on router: Router<TallyRequestContext>) {
        router.post("v1/webhooks/in/:source") { request, context in
            guard let source = context.parameters.get("source") else { throw TallyError.notFound("webhook source") }
            let body = try await request.body.collect(upTo: bodyLimit)
            let outcome = try await inbound.receive(
                source: source, id: request.headers[HTTPField.Name("webhook-id")!], timestamp: request.headers[HTTPField.Name("webhook-timestamp")!],
                signature: request.headers[HTTPField.Name("webhook-signature")!], body: Array(buffer: body)
            )
            return JSONBody.response(json: .object(["status": .string(outcome.rawValue)]), status: outcome == .accepted ? .accepted : .ok)
        }
    }
}
