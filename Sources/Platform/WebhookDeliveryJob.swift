import Actors
import AsyncHTTPClient
import Core
import Logging
import NIOCore
import Scheduler
import Storage

/// Runs `webhook.deliver` jobs: signs the delivery's body (Standard Webhooks; with both secrets
/// while a rotation overlaps), POSTs it to the endpoint, and records the attempt. A 2xx is
/// success; anything else (or no answer within the timeout) is retried on Standard Webhooks'
/// schedule; after the last attempt the delivery is `failed` and the job dead. While the host's
/// circuit breaker is open the job is snoozed. An endpoint that fails every attempt for five
/// days is disabled.
public struct WebhookDeliveryJob: JobHandler {
    public let kind = WebhookService.deliveryKind
    public let backoff = JobBackoff.schedule(WebhookService.schedule)

    let store: any WebhookStore
    let http: HTTPClient
    let breakers: BreakerRegistry
    let service: WebhookService
    let clock: any TallyClock
    let timeout: TimeAmount
    let logger: Logger

    public init(store: any WebhookStore, http: HTTPClient, breakers: BreakerRegistry, service: WebhookService, clock: any TallyClock = SystemClock(),
                timeout: Duration = .seconds(15), logger: Logger) {
        self.store = store
        self.http = http
        self.breakers = breakers
        self.service = service
        self.clock = clock
        self.timeout = .nanoseconds(timeout.totalNanoseconds)
        self.logger = logger
    }

    var nowMillis: Int64 { clock.nowMillis }

    public func run(_ job: JobRecord) async throws {
        guard let tenant = job.spec.tenant,
              case .object(let args)? = try? JSONParser.parse(job.spec.args.utf8), case .string(let text)? = args["delivery_id"],
              let id = WebhookMessageID(text)
        else { throw JobError.permanent("webhook.deliver needs a tenant and {\"delivery_id\": \"msg_…\"}") }
        let scope = TenantScope(credentialTenant: tenant)
        guard let delivery = try await store.delivery(id, in: scope) else { throw JobError.permanent("the delivery \(id) no longer exists") }
        guard delivery.status != .delivered else { return }
        let isLast = job.attempt >= job.spec.maxAttempts
        guard let endpoint = try await store.endpoint(delivery.endpoint, in: scope), endpoint.status == .enabled else {
            try await store.recordAttempt(nil, status: .failed, job: nil, of: id, in: scope, nowMillis: nowMillis)
            throw JobError.permanent("the endpoint \(delivery.endpoint) is disabled or deleted")
        }
        let target = try WebhookEndpoint.target(endpoint.url)
        if case .refused(let retryAt) = breakers.permit(host: target.host, nowMillis: nowMillis) {
            throw JobError.snooze(.milliseconds(max(1_000, retryAt - nowMillis)), "the circuit breaker for \(target.host) is open")
        }

        let started = nowMillis
        var status: Int?
        var failure: String?
        do {
            try await service.checkTarget(endpoint.url)
            var request = HTTPClientRequest(url: endpoint.url)
            request.method = .POST
            let timestamp = started / 1_000
            let signatures = endpoint.signingSecrets(nowMillis: started).map {
                WebhookSignature.sign(id: id.rawValue, timestamp: timestamp, body: delivery.payload.utf8, secret: $0)
            }
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: "Tally-Webhooks/1")
            request.headers.add(name: "webhook-id", value: id.rawValue)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            request.headers.add(name: "webhook-signature", value: signatures.joined(separator: " "))
            request.body = .bytes(ByteBuffer(string: delivery.payload))
            let response = try await http.execute(request, timeout: timeout)
            status = Int(response.status.code)
            // Read (a little of) the body so the connection can be reused; its content does not matter.
            _ = try? await response.body.collect(upTo: 64 * 1_024)
            if !(200..<300).contains(Int(response.status.code)) { failure = "the endpoint answered \(response.status.code)" }
        } catch let error as TallyError {
            failure = error.detail
        } catch {
            failure = "\(error)"
        }
        let finished = nowMillis
        let success = failure == nil
        breakers.record(host: target.host, success: success, nowMillis: finished)
        let attempt = WebhookDelivery.Attempt(atMillis: started, status: status, error: failure, durationMillis: finished - started)
        try await store.recordAttempt(attempt, status: success ? .delivered : (isLast ? .failed : .pending), job: nil, of: id, in: scope, nowMillis: finished)
        if let outcome = try await store.recordOutcome(of: endpoint.id, success: success, in: scope, nowMillis: finished,
                                                       disableAfterMillis: WebhookEndpoint.disableAfterMillis), outcome.disabledNow {
            logger.warning("webhook endpoint disabled after failing for five days", metadata: [
                "tenant.id": "\(tenant)", "webhook.endpoint": "\(endpoint.id)", "webhook.url": "\(endpoint.url)",
            ])
            // Tell the tenant through its other endpoints that still work.
            _ = try? await service.send(type: "webhook.endpoint.disabled", data: .object([
                "endpoint_id": .string(endpoint.id.rawValue), "url": .string(endpoint.url), "reason": .string(outcome.endpoint.disabledReason ?? ""),
            ]), in: scope)
        }
        if let failure { throw WebhookDeliveryError(message: failure) }
    }
}

/// A failed delivery attempt (retryable).
public struct WebhookDeliveryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
