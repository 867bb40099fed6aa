import Core
import Foundation
import HTTPTypes
import Hummingbird
import Metering
import TallyTestSupport
import Testing

/// Meters, events and queries over real sockets, on every backend.
@Suite struct MeteringHTTPTests {
    static let hour: Int64 = 3_600_000_000
    /// The top of the current hour minus two hours: inside the lateness horizon, clear of "now".
    static var base: Int64 { (Int64(Date().timeIntervalSince1970) / 3600 - 2) * hour }

    static func event(_ id: String, at time: Int64, tokens: Any?, model: String = "small", user: String = "u1", subject: String? = "cust-1") -> [String: Any] {
        var data: [String: Any] = ["model": model, "user": user]
        if let tokens { data["tokens"] = tokens }
        var event: [String: Any] = ["specversion": "1.0", "id": id, "source": "//app", "type": "llm.call", "time": RFC3339.format(microseconds: time), "data": data]
        if let subject { event["subject"] = subject }
        return event
    }

    func defineMeters(_ server: TestServer, token: String) async throws {
        for meter: [String: Any] in [
            ["slug": "tokens", "event_type": "llm.call", "aggregation": "SUM", "value_path": "tokens", "group_by": ["model": "data.model", "customer": "subject"]],
            ["slug": "calls", "event_type": "llm.call", "aggregation": "COUNT"],
            ["slug": "users", "event_type": "llm.call", "aggregation": "UNIQUE_COUNT", "value_path": "user"],
        ] {
            let created = try await server.call(.post, "/v1/meters", token: token, json: meter)
            #expect(created.status == 201, "\(created)")
        }
    }

    func range(_ from: Int64, _ to: Int64) -> String {
        "from=\(RFC3339.format(microseconds: from))&to=\(RFC3339.format(microseconds: to))"
    }

    @Test(arguments: TestBackend.available)
    func batchesReportEveryEventAndMetersAreExact(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            try await defineMeters(server, token: acme.token)
            let base = Self.base
            let batch: [[String: Any]] = [
                Self.event("e1", at: base + 60_000_000, tokens: 100),
                Self.event("e2", at: base + 120_000_000, tokens: "0.5", model: "large", user: "u2"),
                Self.event("e1", at: base + 60_000_000, tokens: 100),  // duplicate within the batch
                ["specversion": "1.0", "id": "e3", "type": "llm.call"],  // no source
                Self.event("e4", at: base - 40 * 24 * Self.hour, tokens: 1),  // older than 35 days
                Self.event("e5", at: base, tokens: "lots"),  // not a number
                Self.event("e6", at: base + Self.hour + 1, tokens: 7, subject: "cust-2"),
            ]
            let reply = try await server.call(.post, "/v1/events", token: acme.token, rawBody: String(decoding: try JSONSerialization.data(withJSONObject: batch), as: UTF8.self),
                                              headers: [.contentType: "application/cloudevents-batch+json"])
            #expect(reply.status == 200, "\(reply)")
            let results = try #require(reply.object["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? String } == ["accepted", "accepted", "duplicate", "rejected", "rejected", "rejected", "accepted"])
            #expect(results[3]["code"] as? String == "missing_attribute")
            #expect(results[3]["field"] as? String == "source")
            #expect(results[4]["code"] as? String == "event_too_old")
            #expect(results[5]["code"] as? String == "meter_value_invalid")
            #expect(reply.object["accepted"] as? Int == 3)

            // A client retry of the whole batch counts nothing more.
            let retry = try await server.call(.post, "/v1/events", token: acme.token, json: batch)
            #expect(retry.object["accepted"] as? Int == 0)
            #expect(retry.object["duplicates"] as? Int == 4)

            let hourly = try await server.call(.get, "/v1/meters/tokens/query?\(range(base, base + 2 * Self.hour))&window=hour&group_by=model", token: acme.token)
            #expect(hourly.status == 200, "\(hourly)")
            let points = hourly.items.map { ($0["window_start"] as? String ?? "", ($0["group"] as? [String: String])?["model"] ?? "", $0["value"] as? String ?? "") }
            let first = RFC3339.format(microseconds: base), second = RFC3339.format(microseconds: base + Self.hour)
            #expect(points.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { "\($0.0) \($0.1) \($0.2)" } == [
                "\(first) large 0.5", "\(first) small 100", "\(second) small 7",
            ])
            let perCustomer = try await server.call(.get, "/v1/meters/tokens/query?\(range(base, base + 2 * Self.hour))&window=day&group_by=&subject=cust-1", token: acme.token)
            #expect(perCustomer.items.map { $0["value"] as? String } == ["100.5"])

            let usage = try await server.call(.get, "/v1/usage?\(range(base, base + 2 * Self.hour))", token: acme.token)
            let totals = Dictionary(uniqueKeysWithValues: ((usage.object["meters"] as? [[String: Any]]) ?? []).map { ($0["meter"] as! String, $0["value"] as? String) })
            #expect(totals == ["tokens": "107.5", "calls": "3", "users": "2"])
            let alias = try await server.call(.get, "/api/usage?\(range(base, base + 2 * Self.hour))", token: acme.token)
            #expect(alias.text == usage.text)
        }
    }

    @Test(arguments: TestBackend.available)
    func singleEventsAndTheirErrors(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            try await defineMeters(server, token: acme.token)
            let one = Self.event("solo", at: Self.base, tokens: 3)
            let body = String(decoding: try JSONSerialization.data(withJSONObject: one), as: UTF8.self)
            let first = try await server.call(.post, "/v1/events", token: acme.token, rawBody: body, headers: [.contentType: "application/cloudevents+json"])
            #expect(first.object["accepted"] as? Int == 1)
            let again = try await server.call(.post, "/api/usage", token: acme.token, rawBody: body, headers: [.contentType: "application/cloudevents+json"])
            #expect(again.object["duplicates"] as? Int == 1)

            var late = Self.event("late", at: Self.base, tokens: 1)
            late["time"] = "not a time"
            let rejected = try await server.call(.post, "/v1/events", token: acme.token, json: late)
            #expect(rejected.status == 422)
            #expect(rejected.code == "invalid_time")
            #expect(rejected.object["field"] as? String == "time")

            let future = try await server.call(.post, "/v1/events", token: acme.token, json: Self.event("future", at: Self.base + 10 * Self.hour, tokens: 1))
            #expect(future.code == "event_in_future")

            // NUL cannot be stored by PostgreSQL's jsonb: both backends refuse it the same way.
            var withNUL = Self.event("nul", at: Self.base, tokens: 1)
            withNUL["data"] = ["tokens": 1, "note": "a\u{0}b"]
            let nul = try await server.call(.post, "/v1/events", token: acme.token, json: withNUL)
            #expect(nul.status == 422)
            #expect(nul.code == "invalid_data")

            // Atomic batches book all or nothing.
            let atomic = try await server.call(.post, "/v1/events?atomic=true", token: acme.token, json: [Self.event("ok-1", at: Self.base, tokens: 1), late])
            #expect(atomic.status == 422)
            #expect(atomic.code == "batch_rejected")
            #expect((atomic.object["results"] as? [[String: Any]])?.map { $0["status"] as? String } == ["skipped", "rejected"])

            let usage = try await server.call(.get, "/v1/usage?\(range(Self.base - Self.hour, Self.base + Self.hour))", token: acme.token)
            let calls = ((usage.object["meters"] as? [[String: Any]]) ?? []).first { $0["meter"] as? String == "calls" }?["value"] as? String
            #expect(calls == "1", "only the first single event is booked")

            #expect(try await server.call(.post, "/v1/events", token: acme.token, rawBody: "[]", headers: [.contentType: "application/json"]).code == "validation_failed")
            #expect(try await server.call(.post, "/v1/events", token: acme.token, rawBody: "{", headers: [.contentType: "application/json"]).code == "malformed_json")
            #expect(try await server.call(.post, "/v1/events", token: acme.token, rawBody: "x", headers: [.contentType: "text/plain"]).status == 415)
            let wrongShape = try await server.call(.post, "/v1/events", token: acme.token, rawBody: "{}", headers: [.contentType: "application/cloudevents-batch+json"])
            #expect(wrongShape.code == "malformed_json")
        }
    }

    @Test func oversizedBatchesAreRefusedWhole() async throws {
        try await TestServer.run(.sqlite, maxBatchEvents: 3) { server in
            let acme = try await server.makeTenant("acme")
            try await defineMeters(server, token: acme.token)
            let batch = (0..<4).map { Self.event("b\($0)", at: Self.base, tokens: 1) }
            let reply = try await server.call(.post, "/v1/events", token: acme.token, json: batch)
            #expect(reply.status == 413)
            #expect(reply.code == "batch_too_large")
            let usage = try await server.call(.get, "/v1/usage?\(range(Self.base - Self.hour, Self.base + Self.hour))", token: acme.token)
            #expect(!usage.text.contains("\"value\":\"4\""))
            #expect(usage.text.contains("\"value\":\"0\""))
        }
    }

    @Test func meterAndQueryValidation() async throws {
        try await TestServer.run(.sqlite) { server in
            let acme = try await server.makeTenant("acme")
            let bad = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "x", "event_type": "e", "aggregation": "COUNT"])
            #expect(bad.status == 422)
            #expect(bad.object["field"] as? String == "slug")
            let noPath = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "sum-meter", "event_type": "e", "aggregation": "SUM"])
            #expect(noPath.object["field"] as? String == "value_path")
            let badAggregation = try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "m1", "event_type": "e", "aggregation": "MEDIAN"])
            #expect(badAggregation.object["field"] as? String == "aggregation")
            try await defineMeters(server, token: acme.token)
            #expect(try await server.call(.post, "/v1/meters", token: acme.token, json: ["slug": "calls", "event_type": "e", "aggregation": "COUNT"]).status == 409)
            let missing = try await server.call(.get, "/v1/meters/tokens/query", token: acme.token)
            #expect(missing.status == 400)
            #expect(missing.object["field"] as? String == "from")
            let r = range(Self.base, Self.base + Self.hour)
            #expect(try await server.call(.get, "/v1/meters/tokens/query?\(r)&window=week", token: acme.token).object["field"] as? String == "window")
            #expect(try await server.call(.get, "/v1/meters/tokens/query?\(r)&group_by=colour", token: acme.token).object["field"] as? String == "group_by")
            #expect(try await server.call(.get, "/v1/meters/calls/query?\(r)&subject=c", token: acme.token).object["field"] as? String == "subject")
            #expect(try await server.call(.get, "/v1/meters/nope/query?\(r)", token: acme.token).status == 404)
            let readOnly = try await server.call(.post, "/v1/api-keys", token: acme.token, json: ["name": "ro", "scopes": ["usage:read"]])
            let roToken = try #require(readOnly.object["secret"] as? String)
            #expect(try await server.call(.post, "/v1/events", token: roToken, json: Self.event("x", at: Self.base, tokens: 1)).status == 403)
            #expect(try await server.call(.get, "/v1/meters", token: roToken).status == 200)
        }
    }
}
