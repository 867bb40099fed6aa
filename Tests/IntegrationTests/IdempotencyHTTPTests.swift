import Core
import Foundation
import HTTPTypes
import Hummingbird
import TallyTestSupport
import Testing

@Suite struct IdempotencyHTTPTests {
    let key = HTTPField.Name("Idempotency-Key")!

    @Test(arguments: TestBackend.available)
    func sameKeySameBodyReplaysDifferentBodyIsRefused(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            _ = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "calls", "event_type": "call", "aggregation": "COUNT"])
            let event: [String: Any] = ["specversion": "1.0", "id": "c1", "source": "//s", "type": "call"]
            let first = try await server.call(.post, "/v1/events", token: acme.token, json: event, headers: [key: "key-1"])
            #expect(first.object["accepted"] as? Int == 1)
            let replay = try await server.call(.post, "/v1/events", token: acme.token, json: event, headers: [key: "key-1"])
            #expect(replay.status == 200)
            #expect(replay.text == first.text, "the stored response, not a new 'duplicate' one")
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            // The alias shares keys: same request, same answer.
            #expect(try await server.call(.post, "/api/usage", token: acme.token, json: event, headers: [key: "key-1"]).text == first.text)

            var other = event
            other["id"] = "c2"
            let reused = try await server.call(.post, "/v1/events", token: acme.token, json: other, headers: [key: "key-1"])
            #expect(reused.status == 422)
            #expect(reused.code == "idempotency_key_reused")

            // Keys are per tenant.
            let globex = try await server.makeTenant("globex")
            let separate = try await server.call(.post, "/v1/events", token: globex.token, json: other, headers: [key: "key-1"])
            #expect(separate.status == 200)

            // A rejected event's answer is replayed too.
            var bad = event
            bad["id"] = "c3"
            bad["time"] = "never"
            let rejected = try await server.call(.post, "/v1/events", token: acme.token, json: bad, headers: [key: "key-2"])
            #expect(rejected.code == "invalid_time")
            let again = try await server.call(.post, "/v1/events", token: acme.token, json: bad, headers: [key: "key-2"])
            #expect(again.status == 422)
            #expect(again.text == rejected.text)

            let badKey = try await server.call(.post, "/v1/events", token: acme.token, json: event, headers: [key: "has space"])
            #expect(badKey.status == 400)
            #expect(badKey.object["field"] as? String == "Idempotency-Key")

            let usage = try await server.call(.get, "/v1/usage?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", token: acme.token)
            #expect(usage.text.contains("\"value\":\"1\""), "\(usage)")
        }
    }
}
