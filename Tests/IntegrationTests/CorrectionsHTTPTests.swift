import Core
import Foundation
import HTTPTypes
import Metering
import TallyTestSupport
import Testing

/// Voids, amendments, event history, meter changes, the backfill switch and admission control,
/// over real sockets, on every backend.
@Suite struct CorrectionsHTTPTests {
    let metering = MeteringHTTPTests()

    func usage(_ server: TestServer, _ token: String, _ range: String) async throws -> [String: String?] {
        let reply = try await server.call(.get, "/v1/usage?\(range)", token: token)
        let meters = reply.object["meters"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: meters.map { ($0["meter"] as! String, $0["value"] as? String) })
    }

    @Test(arguments: TestBackend.available)
    func voidAndAmendAdjustMetersAndShowInHistory(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            try await metering.defineMeters(server, token: acme.token)
            let base = MeteringHTTPTests.base
            let range = metering.range(base, base + MeteringHTTPTests.hour)
            for (id, tokens, user) in [("e1", 100, "u1"), ("e2", 50, "u2"), ("e3", 7, "u3")] {
                let posted = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event(id, at: base + 60_000_000, tokens: tokens, user: user))
                #expect(posted.status == 200)
            }
            #expect(try await usage(server, acme.token, range) == ["tokens": "157", "calls": "3", "users": "3"])

            // Amend e1: 100 tokens become 10, and its user is now u2 (one fewer distinct user).
            let amended = try await server.call(
                .post, "/v1/events/%2F%2Fapp/e1/amend", token: acme.token,
                json: ["data": ["tokens": 10, "model": "small", "user": "u2"], "reason": "meter misread"]
            )
            #expect(amended.status == 201, "\(amended)")
            #expect(amended.object["status"] as? String == "amended")
            #expect((amended.object["original"] as? [String: Any])?["data"] as? NSDictionary == ["tokens": 100, "model": "small", "user": "u1"] as NSDictionary)
            #expect(((amended.object["effective"] as? [String: Any])?["data"] as? [String: Any])?["tokens"] as? Int == 10)
            #expect(((amended.object["effective"] as? [String: Any])?["subject"] as? String) == "cust-1")  // kept
            #expect(try await usage(server, acme.token, range) == ["tokens": "67", "calls": "3", "users": "2"])

            // Void e3: it stops counting everywhere.
            let voided = try await server.call(.post, "/v1/events/%2F%2Fapp/e3/void", token: acme.token, json: ["reason": "test traffic"])
            #expect(voided.status == 201)
            #expect(voided.object["status"] as? String == "voided")
            #expect(voided.object["effective"] is NSNull)
            #expect(try await usage(server, acme.token, range) == ["tokens": "60", "calls": "2", "users": "1"])

            // The history lists both corrections, in order, and the original is untouched.
            let history = try await server.call(.get, "/v1/events/%2F%2Fapp/e1", token: acme.token)
            #expect(history.status == 200)
            let corrections = try #require(history.object["corrections"] as? [[String: Any]])
            #expect(corrections.map { $0["kind"] as? String } == ["amend"])
            #expect(corrections.first?["reason"] as? String == "meter misread")
            #expect(corrections.first?["sequence"] as? Int == 1)

            // A retried event id is still a duplicate after a void: the ledger keeps it for ever.
            let again = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("e3", at: base + 60_000_000, tokens: 7))
            #expect((again.object["results"] as? [[String: Any]])?.first?["status"] as? String == "duplicate")
            #expect(try await usage(server, acme.token, range) == ["tokens": "60", "calls": "2", "users": "1"])

            // The same Idempotency-Key replays an amendment instead of appending a second one.
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "amend-e2-1"]
            let first = try await server.call(.post, "/v1/events/%2F%2Fapp/e2/amend", token: acme.token, json: ["data": ["tokens": 1, "user": "u2"]], headers: key)
            let replay = try await server.call(.post, "/v1/events/%2F%2Fapp/e2/amend", token: acme.token, json: ["data": ["tokens": 1, "user": "u2"]], headers: key)
            #expect(first.status == 201)
            #expect(replay.status == 201)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let e2 = try await server.call(.get, "/v1/events/%2F%2Fapp/e2", token: acme.token)
            #expect((e2.object["corrections"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func badCorrectionsGetProblemsAndChangeNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            try await metering.defineMeters(server, token: acme.token)
            let base = MeteringHTTPTests.base
            let range = metering.range(base, base + MeteringHTTPTests.hour)
            _ = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("e1", at: base + 60_000_000, tokens: 100))
            let before = try await usage(server, acme.token, range)

            let cases: [(path: String, body: String?, status: Int, code: String, field: String?)] = [
                ("/v1/events/%2F%2Fapp/nope/void", nil, 404, "not_found", nil),
                ("/v1/events/%2F%2Fother/e1/void", nil, 404, "not_found", nil),
                ("/v1/events/%2F%2Fapp/e1/void", "{", 400, "malformed_json", nil),
                ("/v1/events/%2F%2Fapp/e1/void", #"{"data": {}}"#, 422, "unknown_field", "data"),
                ("/v1/events/%2F%2Fapp/e1/void", #"{"reason": 5}"#, 422, "invalid_reason", "reason"),
                ("/v1/events/%2F%2Fapp/e1/amend", nil, 422, "missing_attribute", "data"),
                ("/v1/events/%2F%2Fapp/e1/amend", #"{"data": [1]}"#, 422, "invalid_data", "data"),
                ("/v1/events/%2F%2Fapp/e1/amend", #"{"subject": ""}"#, 422, "invalid_attribute", "subject"),
                ("/v1/events/%2F%2Fapp/e1/amend", #"{"data": {"tokens": "lots", "user": "u"}}"#, 422, "meter_value_invalid", "data.tokens"),
                ("/v1/events/%2F%2Fapp/e1/amend", #"{"data": {"model": "x"}}"#, 422, "meter_value_missing", "data.tokens"),
                ("/v1/events/%ZZ/e1/void", nil, 400, "invalid_parameter", "source"),
            ]
            for item in cases {
                let reply = try await server.call(.post, item.path, token: acme.token, rawBody: item.body, headers: item.body == nil ? [:] : [.contentType: "application/json"])
                #expect(reply.status == item.status, "\(item.path) \(item.body ?? "") → \(reply)")
                #expect(reply.object["code"] as? String == item.code, "\(item.path) \(item.body ?? "")")
                #expect(reply.object["field"] as? String == item.field, "\(item.path) \(item.body ?? "")")
            }
            let readOnly = try await server.makeTenant("reader", scopes: ["usage:read"])
            #expect(try await server.call(.post, "/v1/events/%2F%2Fapp/e1/void", token: readOnly.token).status == 403)
            let history = try await server.call(.get, "/v1/events/%2F%2Fapp/e1", token: acme.token)
            #expect(history.object["status"] as? String == "active")
            #expect((history.object["corrections"] as? [Any])?.isEmpty == true)
            #expect(try await usage(server, acme.token, range) == before)

            // A voided event takes no more corrections.
            #expect(try await server.call(.post, "/v1/events/%2F%2Fapp/e1/void", token: acme.token).status == 201)
            let twice = try await server.call(.post, "/v1/events/%2F%2Fapp/e1/void", token: acme.token)
            #expect(twice.status == 409)
            #expect(twice.object["code"] as? String == "event_voided")
        }
    }

    @Test(arguments: TestBackend.available)
    func patchingAMeterRecomputesItsHistory(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            let base = MeteringHTTPTests.base
            let range = metering.range(base, base + MeteringHTTPTests.hour)
            // Events first, meter after: a new meter counts what the ledger already holds.
            for (id, tokens) in [("e1", 5), ("e2", 7)] {
                _ = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event(id, at: base + 60_000_000, tokens: tokens))
            }
            let created = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "tokens", "event_type": "llm.call", "aggregation": "SUM", "value_path": "tokens"])
            #expect(created.status == 201)
            #expect(try await usage(server, acme.token, range) == ["tokens": "12"])

            let patched = try await server.call(.patch, "/v1/meters/tokens", token: acme.token, json: ["aggregation": "MAX"])
            #expect(patched.status == 200, "\(patched)")
            #expect(patched.object["aggregation"] as? String == "MAX")
            #expect(try await usage(server, acme.token, range) == ["tokens": "7"])

            let counted = try await server.call(.patch, "/v1/meters/tokens", token: acme.token, json: ["aggregation": "COUNT", "value_path": NSNull()])
            #expect(counted.status == 200, "\(counted)")
            #expect(try await usage(server, acme.token, range) == ["tokens": "2"])
            // Events booked after the change count under the new definition.
            _ = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("e3", at: base + 60_000_000, tokens: 1))
            #expect(try await usage(server, acme.token, range) == ["tokens": "3"])

            for (body, code, field) in [
                (["slug": "other"], "validation_failed", "slug"),
                (["aggregation": "SUM"], "validation_failed", "value_path"),
                (["aggregation": "MEDIAN"], "validation_failed", "aggregation"),
            ] as [([String: Any], String, String)] {
                let reply = try await server.call(.patch, "/v1/meters/tokens", token: acme.token, json: body)
                #expect(reply.status == 422, "\(body) → \(reply)")
                #expect(reply.object["code"] as? String == code)
                #expect(reply.object["field"] as? String == field)
            }
            #expect(try await server.call(.patch, "/v1/meters/missing", token: acme.token, json: ["aggregation": "COUNT"]).status == 404)
            #expect(try await server.call(.get, "/v1/meters/tokens", token: acme.token).object["aggregation"] as? String == "COUNT")
        }
    }

    @Test(arguments: TestBackend.available)
    func backfillIsAPerTenantSwitch(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            let old = MeteringHTTPTests.base - 100 * 24 * MeteringHTTPTests.hour
            let refused = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("old-1", at: old, tokens: 1))
            #expect(refused.status == 422)
            #expect(refused.object["code"] as? String == "event_too_old")

            for (settings, field) in [
                (["metering": ["backfill": "yes"]], "settings.metering.backfill"),
                (["metering": ["lateness_horizon_days": 0]], "settings.metering.lateness_horizon_days"),
                (["metering": ["colour": "red"]], "settings.metering.colour"),
                (["metering": 5], "settings.metering"),
            ] as [([String: Any], String)] {
                let reply = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["settings": settings])
                #expect(reply.status == 422, "\(settings) → \(reply)")
                #expect(reply.object["field"] as? String == field)
            }
            let enabled = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["settings": ["metering": ["backfill": true]]])
            #expect(enabled.status == 200, "\(enabled)")
            let accepted = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("old-1", at: old, tokens: 1))
            #expect(accepted.status == 200)
            #expect((accepted.object["results"] as? [[String: Any]])?.first?["status"] as? String == "accepted")

            // A shorter horizon: an event 3 days old is now too old.
            _ = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["settings": ["metering": ["lateness_horizon_days": 2]]])
            let threeDays = MeteringHTTPTests.base - 72 * MeteringHTTPTests.hour
            let short = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("recent", at: threeDays, tokens: 1))
            #expect(short.object["code"] as? String == "event_too_old")
        }
    }

    @Test(arguments: TestBackend.available)
    func admissionControlAnswers429And503InsteadOfQueueing(backend: TestBackend) async throws {
        let limits = AdmissionLimits(tenantBytes: 1_000_000, totalBytes: 10_000_000, tenantRequests: 1, totalRequests: 2)
        try await TestServer.run(backend, ingestLimits: limits) { server in
            let acme = try await server.makeTenant("acme")
            let other = try await server.makeTenant("other")
            let third = try await server.makeTenant("third")
            let port = try #require(server.client.port)
            // Hold one acme request in flight: headers sent, body not yet.
            let held = try RawHTTPConnection(port: port)
            let body = String(decoding: try JSONSerialization.data(withJSONObject: MeteringHTTPTests.event("held", at: MeteringHTTPTests.base, tokens: 1)), as: UTF8.self)
            held.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(acme.token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n")
            let directory = server.platform.metering.directory
            try await Polling.until { directory.inFlight(TenantID(acme.tenantID)!).tenant.requests == 1 }

            let second = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("second", at: MeteringHTTPTests.base, tokens: 1))
            #expect(second.status == 429, "\(second)")
            #expect(second.object["code"] as? String == "tenant_overloaded")
            #expect(second.headers[.retryAfter] == "1")

            // Another tenant still gets in (its own share), until the node's two slots are taken.
            let heldOther = try RawHTTPConnection(port: port)
            heldOther.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(other.token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n")
            try await Polling.until { directory.inFlight(TenantID(acme.tenantID)!).total.requests == 2 }
            let full = try await server.call(.post, "/v1/events", token: third.token, json: MeteringHTTPTests.event("third", at: MeteringHTTPTests.base, tokens: 1))
            #expect(full.status == 503, "\(full)")
            #expect(full.object["code"] as? String == "server_overloaded")
            #expect(full.headers[.retryAfter] == "1")

            // Finishing the held requests frees the slots; nothing refused was booked.
            held.send(body)
            #expect(await held.readAll().hasPrefix("HTTP/1.1 200"))
            heldOther.send(body)
            #expect(await heldOther.readAll().hasPrefix("HTTP/1.1 200"))
            let after = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event("second", at: MeteringHTTPTests.base, tokens: 1))
            #expect((after.object["results"] as? [[String: Any]])?.first?["status"] as? String == "accepted")  // not a duplicate: the 429 booked nothing
            let inFlight = server.platform.metering.directory.inFlight(TenantID(acme.tenantID)!)
            #expect(inFlight.total.requests == 0 && inFlight.tenant.bytes == 0)
        }
    }
}

@Suite struct TimeZoneQueryHTTPTests {
    @Test(arguments: TestBackend.available)
    func windowsFollowTheRequestedZone(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            _ = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "calls", "event_type": "llm.call", "aggregation": "COUNT"])
            let base = MeteringHTTPTests.base  // the top of a UTC hour
            for (id, offset) in [("a", 60), ("b", 1_900), ("c", 3_000)] {
                _ = try await server.call(.post, "/v1/events", token: acme.token, json: MeteringHTTPTests.event(id, at: base + Int64(offset) * 1_000_000, tokens: 1))
            }
            let range = MeteringHTTPTests().range(base, base + MeteringHTTPTests.hour)
            let utc = try await server.call(.get, "/v1/meters/calls/query?\(range)&window=hour&group_by=", token: acme.token)
            #expect((utc.object["data"] as? [[String: Any]])?.map { $0["value"] as? String } == ["3"])
            #expect(utc.object["tz"] as? String == "UTC")

            // Asia/Kolkata hours start on the half hour UTC: 60 s lands in one hour, 1,900 s and 3,000 s in the next.
            let local = try await server.call(.get, "/v1/meters/calls/query?\(range)&window=hour&group_by=&tz=Asia/Kolkata", token: acme.token)
            #expect(local.status == 200, "\(local)")
            let points = try #require(local.object["data"] as? [[String: Any]])
            #expect(points.map { $0["value"] as? String } == ["1", "2"])
            #expect(points.allSatisfy { ($0["window_start"] as? String)?.hasSuffix(":30:00+05:30") == false && ($0["window_start"] as? String)?.hasSuffix(":00:00+05:30") == true })
            #expect(local.object["tz"] as? String == "Asia/Kolkata")

            let bad = try await server.call(.get, "/v1/meters/calls/query?\(range)&tz=Mars/Olympus", token: acme.token)
            #expect(bad.status == 400)
            #expect(bad.object["code"] as? String == "invalid_parameter")
            #expect(bad.object["field"] as? String == "tz")
        }
    }
}
