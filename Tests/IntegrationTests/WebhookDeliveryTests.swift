import Actors
import AsyncHTTPClient
import Core
import Foundation
import HTTPTypes
import Platform
import Scheduler
import Storage
import TallyTestSupport
import Testing

/// Outbound webhooks end to end against a real receiver, on both backends. Time is injected
/// (the jobs are fetched and failed at chosen instants), never slept.
@Suite struct WebhookDeliveryTests {
    static func handler(_ server: TestServer, http: HTTPClient) throws -> WebhookDeliveryJob {
        WebhookDeliveryJob(
            store: server.backend.webhooks, http: http, breakers: BreakerRegistry(), service: try #require(server.platform.webhooks), logger: TestBackend.logger
        )
    }

    static func withHTTP<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    @Test(arguments: TestBackend.available)
    func messagesAreSignedDeliveredAndLogged(backend: TestBackend) async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            try await TestServer.run(backend) { server in
                try await Self.withHTTP { http in
                    let tenant = try await server.makeTenant("hooks")
                    let created = try await server.call(.post, "/v1/webhooks", token: tenant.token, json: ["url": url, "event_types": ["invoice.paid"]])
                    #expect(created.status == 201, "\(created.text)")
                    let id = try #require(created.object["id"] as? String)
                    let secret = try #require((created.object["secret"] as? String).flatMap(WebhookSignature.Secret.init))
                    #expect(try await server.call(.get, "/v1/webhooks/\(id)", token: tenant.token).object["secret"] == nil)

                    let scope = TenantScope(credentialTenant: TenantID(trusted: tenant.tenantID))
                    let webhooks = try #require(server.platform.webhooks)
                    // Only subscribers get an event.
                    #expect(try await webhooks.send(type: "invoice.voided", data: [:], in: scope).isEmpty)
                    let sent = try await webhooks.send(type: "invoice.paid", data: ["invoice": "INV-1"], in: scope)
                    #expect(sent.count == 1)

                    let now = Int64(Date().timeIntervalSince1970 * 1_000) + 5_000
                    let job = try #require(try await server.backend.jobs.fetch(queue: "webhooks", limit: 5, worker: "t", nowMillis: now, visibilityMillis: 60_000).first)
                    try await Self.handler(server, http: http).run(job)
                    try await server.backend.jobs.complete([JobLease(job)], nowMillis: now)

                    let got = try #require(receiver.received.withLock { $0.last })
                    #expect(got.headers["webhook-id"] == sent[0].id.rawValue)
                    #expect(got.headers["content-type"] == "application/json")
                    // The receiver verifies with the secret it was given.
                    try WebhookSignature.verify(
                        id: got.headers["webhook-id"], timestamp: got.headers["webhook-timestamp"], signatures: got.headers["webhook-signature"],
                        body: got.body, secrets: [secret], nowSeconds: Int64(Date().timeIntervalSince1970)
                    )
                    let payload = try #require(try JSONSerialization.jsonObject(with: Data(got.body)) as? [String: Any])
                    #expect(payload["type"] as? String == "invoice.paid" && (payload["data"] as? [String: Any])?["invoice"] as? String == "INV-1")

                    let log = try await server.call(.get, "/v1/webhooks/\(id)/deliveries", token: tenant.token)
                    let entry = try #require(log.items.first)
                    #expect(entry["status"] as? String == "delivered" && (entry["attempts"] as? [[String: Any]])?.first?["status"] as? Int == 200)

                    // Rotation: for a day both secrets sign, so receivers holding either verify.
                    let rotated = try await server.call(.post, "/v1/webhooks/\(id)/rotate-secret", token: tenant.token)
                    let fresh = try #require((rotated.object["secret"] as? String).flatMap(WebhookSignature.Secret.init))
                    #expect(fresh != secret && rotated.object["previous_secret_until"] is String)
                    let test = try await server.call(.post, "/v1/webhooks/\(id)/test", token: tenant.token)
                    #expect(test.status == 202 && test.object["event_type"] as? String == "webhook.test")
                    let testJob = try #require(try await server.backend.jobs.fetch(queue: "webhooks", limit: 5, worker: "t", nowMillis: Int64(Date().timeIntervalSince1970 * 1_000) + 5_000, visibilityMillis: 60_000).first)
                    try await Self.handler(server, http: http).run(testJob)
                    let rotatedMessage = try #require(receiver.received.withLock { $0.last })
                    #expect(rotatedMessage.headers["webhook-signature"]?.split(separator: " ").count == 2)
                    for key in [secret, fresh] {
                        try WebhookSignature.verify(
                            id: rotatedMessage.headers["webhook-id"], timestamp: rotatedMessage.headers["webhook-timestamp"],
                            signatures: rotatedMessage.headers["webhook-signature"], body: rotatedMessage.body, secrets: [key],
                            nowSeconds: Int64(Date().timeIntervalSince1970)
                        )
                    }
                }
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func aFailingReceiverExhaustsTheScheduleThenTheDLQReplayDelivers(backend: TestBackend) async throws {
        let receiver = WebhookReceiver()
        receiver.status.withLock { $0 = .internalServerError }
        try await receiver.run { url in
            try await TestServer.run(backend) { server in
                try await Self.withHTTP { http in
                    let tenant = try await server.makeTenant("failing")
                    let created = try await server.call(.post, "/v1/webhooks", token: tenant.token, json: ["url": url])
                    let endpoint = try #require(created.object["id"] as? String)
                    let scope = TenantScope(credentialTenant: TenantID(trusted: tenant.tenantID))
                    let sent = try await #require(server.platform.webhooks).send(type: "usage.threshold", data: ["percent": 80], in: scope)
                    let handler = try Self.handler(server, http: http)
                    let queue = server.backend.jobs

                    var now = Int64(Date().timeIntervalSince1970 * 1_000) + 5_000
                    var waits: [Int64] = []
                    var generator = SystemRandomNumberGenerator()
                    for attempt in 1...(WebhookService.schedule.count + 1) {
                        let job = try #require(try await queue.fetch(queue: "webhooks", limit: 1, worker: "t", nowMillis: now, visibilityMillis: 60_000).first,
                                               "attempt \(attempt) was not due at \(now)")
                        #expect(job.attempt == attempt)
                        // Not due a millisecond earlier than the schedule says.
                        do {
                            try await handler.run(job)
                            Issue.record("a 500 was taken for success")
                        } catch {
                            let failure = JobError.failure(for: error)
                            #expect(failure.kind == .retryable, "\(failure)")
                            let decision = failure.decide(attempt: job.attempt, maxAttempts: job.spec.maxAttempts, backoff: handler.backoff, nowMillis: now,
                                                          using: &generator)
                            try await queue.fail([JobFailureReport(lease: JobLease(job), decision: decision, message: failure.message)], nowMillis: now)
                            if let next = decision.runAtMillis {
                                waits.append(next - now)
                                #expect(try await queue.fetch(queue: "webhooks", limit: 1, worker: "t", nowMillis: next - 1, visibilityMillis: 60_000).isEmpty)
                                now = next
                            } else {
                                #expect(decision.event == .failFinal && attempt == WebhookService.schedule.count + 1)
                            }
                        }
                    }
                    // Seven waits, each within 10 % of Standard Webhooks' schedule.
                    let schedule = WebhookService.schedule.map { $0.components.seconds * 1_000 }
                    #expect(waits.count == schedule.count)
                    for (wait, expected) in zip(waits, schedule) { #expect(abs(wait - expected) <= expected / 10, "\(wait) vs \(expected)") }

                    let delivery = try await server.call(.get, "/v1/webhooks/\(endpoint)/deliveries", token: tenant.token).items.first
                    #expect(delivery?["status"] as? String == "failed")
                    #expect((delivery?["attempts"] as? [[String: Any]])?.count == schedule.count + 1)
                    let jobID = try #require(sent.first?.jobID)
                    let dead = try #require(try await queue.job(jobID))
                    #expect(dead.state == .dead && dead.attempt == schedule.count + 1 && dead.errors.last?.message.contains("500") == true)

                    // The receiver is fixed; the operator replays the DLQ; the message is delivered.
                    receiver.status.withLock { $0 = .noContent }
                    let replayed = try await server.call(.post, "/v1/jobs/dead/replay", token: server.operatorToken, json: ["kind": "webhook.deliver"])
                    #expect(replayed.object["replayed"] as? Int == 1)
                    let later = Int64(Date().timeIntervalSince1970 * 1_000) + 2_000
                    let again = try #require(try await queue.fetch(queue: "webhooks", limit: 1, worker: "t", nowMillis: max(now, later), visibilityMillis: 60_000).first)
                    try await handler.run(again)
                    try await queue.complete([JobLease(again)], nowMillis: max(now, later))
                    #expect(try await server.call(.get, "/v1/webhooks/\(endpoint)/deliveries", token: tenant.token).items.first?["status"] as? String == "delivered")
                    #expect(receiver.received.withLock { $0.count } == schedule.count + 2)
                    #expect(try await queue.job(jobID)?.state == .completed)
                }
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func badEndpointsAreRefusedWithTheirField(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let tenant = try await server.makeTenant("bad-hooks")
            let cases: [([String: Any], String)] = [
                ([:], "url"),
                (["url": "ftp://example.com/x"], "url"),
                (["url": "not a url"], "url"),
                (["url": "http://user:pw@127.0.0.1/x"], "url"),
                (["url": "http://10.1.2.3/hook"], "url"),
                (["url": "http://169.254.169.254/latest"], "url"),
                (["url": "http://[fd00::1]/hook"], "url"),
                (["url": "http://127.0.0.1:9/x", "event_types": ["bad type"]], "event_types"),
                (["url": "http://127.0.0.1:9/x", "event_types": "invoice.paid"], "event_types"),
                (["url": "http://127.0.0.1:9/x", "secret": "whsec_short"], "secret"),
                (["url": "http://127.0.0.1:9/x", "colour": "blue"], "colour"),
            ]
            for (body, field) in cases {
                let reply = try await server.call(.post, "/v1/webhooks", token: tenant.token, json: body)
                #expect(reply.status == 422 && reply.object["field"] as? String == field, "\(body): \(reply.text)")
            }
            #expect(try await server.call(.get, "/v1/webhooks", token: tenant.token).items.isEmpty)
            let created = try await server.call(.post, "/v1/webhooks", token: tenant.token, json: ["url": "http://127.0.0.1:9/x", "enabled": false])
            let id = try #require(created.object["id"] as? String)
            #expect(created.object["status"] as? String == "disabled")
            #expect(try await server.call(.post, "/v1/webhooks/\(id)/test", token: tenant.token).status == 409)
            #expect(try await server.call(.patch, "/v1/webhooks/\(id)", token: tenant.token, json: ["secret": "whsec_x"]).object["field"] as? String == "secret")
            #expect(try await server.call(.patch, "/v1/webhooks/\(id)", token: tenant.token, json: ["enabled": true]).object["status"] as? String == "enabled")
            let readOnly = try await server.makeTenant("read-only", scopes: ["webhooks:read"])
            #expect(try await server.call(.post, "/v1/webhooks", token: readOnly.token, json: ["url": "http://127.0.0.1:9/x"]).status == 403)
            #expect(try await server.call(.delete, "/v1/webhooks/\(id)", token: tenant.token).status == 204)
            #expect(try await server.call(.get, "/v1/webhooks/\(id)", token: tenant.token).status == 404)
        }
    }

    @Test(arguments: TestBackend.available)
    func inboundMessagesAreVerifiedStoredOnceAndProcessed(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let secret = try #require(WebhookSignature.Secret(TestServer.inboundSecrets["test-source"]!))
            let body = #"{"type":"payment.succeeded","data":{"amount":1200}}"#
            func headers(id: String, at seconds: Int64, secret: WebhookSignature.Secret) -> HTTPFields {
                var fields = HTTPFields()
                fields[HTTPField.Name("webhook-id")!] = id
                fields[HTTPField.Name("webhook-timestamp")!] = String(seconds)
                fields[HTTPField.Name("webhook-signature")!] = WebhookSignature.sign(id: id, timestamp: seconds, body: body.utf8, secret: secret)
                fields[.contentType] = "application/json"
                return fields
            }
            let now = Int64(Date().timeIntervalSince1970)
            let first = try await server.call(.post, "/v1/webhooks/in/test-source", rawBody: body, headers: headers(id: "evt_1", at: now, secret: secret))
            #expect(first.status == 202 && first.object["status"] as? String == "accepted", "\(first.text)")
            let replay = try await server.call(.post, "/v1/webhooks/in/test-source", rawBody: body, headers: headers(id: "evt_1", at: now, secret: secret))
            #expect(replay.status == 200 && replay.object["status"] as? String == "duplicate")
            for (fields, code) in [
                (headers(id: "evt_2", at: now, secret: .generate()), "invalid_signature"),
                (headers(id: "evt_3", at: now - 301, secret: secret), "invalid_signature"),
                (HTTPFields(), "invalid_signature"),
            ] {
                let refused = try await server.call(.post, "/v1/webhooks/in/test-source", rawBody: body, headers: fields)
                #expect(refused.status == 401 && refused.object["code"] as? String == code)
            }
            #expect(try await server.call(.post, "/v1/webhooks/in/nobody", rawBody: body, headers: headers(id: "evt_4", at: now, secret: secret)).status == 404)

            // One job per accepted message; running it (twice) marks the message processed once.
            let later = Int64(Date().timeIntervalSince1970 * 1_000) + 5_000
            let jobs = try await server.backend.jobs.fetch(queue: "webhooks", limit: 10, worker: "t", nowMillis: later, visibilityMillis: 60_000)
            #expect(jobs.map(\.spec.kind) == ["webhook.inbound"])
            let job = try #require(jobs.first)
            let handler = InboundWebhookJob(store: server.backend.webhooks)
            try await handler.run(job)
            let processed = try #require(try await server.backend.webhooks.inbound(source: "test-source", messageID: "evt_1"))
            #expect(processed.payload == body && processed.processedAtMillis != nil)
            try await handler.run(job)
            #expect(try await server.backend.webhooks.inbound(source: "test-source", messageID: "evt_1")?.processedAtMillis == processed.processedAtMillis)
            #expect(try await server.backend.webhooks.inbound(source: "test-source", messageID: "evt_2") == nil)
        }
    }
}
