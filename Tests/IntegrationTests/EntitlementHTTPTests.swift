import Core
import Foundation
import TallyTestSupport
import Testing

/// Plans, assignments, grants, checks and enforcement at ingest, end to end on both backends.
@Suite struct EntitlementHTTPTests {
    /// A tenant with a COUNT meter `calls` (type `api.call`), a SUM meter `tokens` (data.n),
    /// and the features `api-calls`, `tokens`, `sso` and `seats`.
    static func setUp(_ server: TestServer, slug: String = "acme") async throws -> (tenantID: String, keyID: String, token: String) {
        let tenant = try await server.makeTenant(slug)
        _ = try await server.call(.post, "/v1/meters", token: tenant.token, json: ["slug": "calls", "event_type": "api.call", "aggregation": "COUNT"])
        _ = try await server.call(.post, "/v1/meters", token: tenant.token, json: ["slug": "tokens", "event_type": "llm.tokens", "aggregation": "SUM", "value_path": "n"])
        let op = server.operatorToken
        for feature in [
            ["key": "api-calls", "name": "API calls", "kind": "metered", "meter": "calls"],
            ["key": "tokens", "name": "Tokens", "kind": "metered", "meter": "tokens"],
            ["key": "sso", "name": "SSO", "kind": "boolean"], ["key": "seats", "name": "Seats", "kind": "static"],
        ] {
            let reply = try await server.call(.post, "/v1/features", token: op, json: feature)
            if reply.status != 201 && reply.status != 409 { throw TestSetupError("feature: \(reply)") }
        }
        return tenant
    }

    static func event(_ id: String, type: String = "api.call", data: [String: Any] = [:]) -> [String: Any] {
        ["specversion": "1.0", "id": id, "source": "//test", "type": type, "data": data]
    }

    static func batch(_ server: TestServer, _ token: String, _ events: [[String: Any]], atomic: Bool = false) async throws -> Reply {
        try await server.call(
            .post, "/v1/events" + (atomic ? "?atomic=true" : ""), token: token, json: events,
            headers: [.contentType: "application/cloudevents-batch+json"]
        )
    }

    static func statuses(_ reply: Reply) -> [String] {
        (reply.object["results"] as? [[String: Any]] ?? []).map { ($0["status"] as? String ?? "?") + (($0["code"] as? String).map { ":" + $0 } ?? "") }
    }

    static func count(_ server: TestServer, _ tenant: String, source: String = "//test") async throws -> Int {
        try await server.backend.ledger.countEvents(in: TenantScope(credentialTenant: TenantID(tenant)!), source: source)
    }

    @Test(arguments: TestBackend.available)
    func hardLimitsRefuseAtIngestAndCountNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let op = server.operatorToken
            let plan: [String: Any] = ["key": "starter", "name": "Starter", "entitlements": [
                "api-calls": ["limit": 5], "tokens": ["limit": "100.5"], "sso": ["enabled": true], "seats": ["value": 3],
            ]]
            #expect(try await server.call(.post, "/v1/plans", token: op, json: plan).status == 201)
            let assigned = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: ["plan": "starter"])
            #expect(assigned.status == 200, "\(assigned)")
            #expect(assigned.object["plan"] as? String == "starter")

            // 7 calls against a limit of 5: the first 5 are booked, the rest refused.
            let first = try await Self.batch(server, acme.token, (1...7).map { Self.event("c\($0)") })
            #expect(Self.statuses(first) == Array(repeating: "accepted", count: 5) + ["rejected:quota_exceeded", "rejected:quota_exceeded"])
            #expect(try await Self.count(server, acme.tenantID) == 5)
            // Retrying booked events answers duplicate, not quota_exceeded; a new one is still refused.
            let retry = try await Self.batch(server, acme.token, [Self.event("c1"), Self.event("c8")])
            #expect(Self.statuses(retry) == ["duplicate", "rejected:quota_exceeded"])
            // A single refused event is a 422 problem with the code.
            let single = try await server.call(.post, "/v1/events", token: acme.token, json: Self.event("c9"))
            #expect(single.status == 422)
            #expect(single.object["code"] as? String == "quota_exceeded")

            // SUM meters: the event's value counts; 100 fits, then 0.5 fits, then 0.000000001 does not.
            let tokens = try await Self.batch(server, acme.token, [
                Self.event("t1", type: "llm.tokens", data: ["n": 100]), Self.event("t2", type: "llm.tokens", data: ["n": 0.5]),
                Self.event("t3", type: "llm.tokens", data: ["n": "0.000000001"]), Self.event("t4", type: "llm.tokens", data: ["n": 0]),
            ])
            #expect(Self.statuses(tokens) == ["accepted", "accepted", "rejected:quota_exceeded", "accepted"])

            // The check API agrees with the ledger.
            let check = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls"])
            #expect(check.status == 200, "\(check)")
            #expect(check.object["allowed"] as? Bool == false)
            #expect(check.object["limit"] as? String == "5")
            #expect(check.object["used"] as? String == "5")
            #expect(check.object["remaining"] as? String == "0")
            // A calendar month in UTC: this month's first instant to the next's, when it resets.
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let monthStart = utc.date(from: utc.dateComponents([.year, .month], from: Date()))!
            let nextMonth = utc.date(byAdding: .month, value: 1, to: monthStart)!
            let rfc3339 = ISO8601DateFormatter()
            #expect(check.object["period_start"] as? String == rfc3339.string(from: monthStart), "\(check.object)")
            #expect(check.object["period_end"] as? String == rfc3339.string(from: nextMonth), "\(check.object)")
            #expect(check.object["resets_at"] as? String == rfc3339.string(from: nextMonth), "\(check.object)")
            let all = try await server.call(.get, "/v1/entitlements", token: acme.token)
            #expect(all.items.map { $0["feature"] as? String } == ["api-calls", "seats", "sso", "tokens"])
            #expect(all.items.first { $0["feature"] as? String == "seats" }?["value"] as? Int == 3)
            #expect(all.items.first { $0["feature"] as? String == "sso" }?["allowed"] as? Bool == true)
            #expect(all.items.first { $0["feature"] as? String == "tokens" }?["used"] as? String == "100.5")

            // An atomic batch with one refused event books nothing.
            let grant = try await server.call(.post, "/v1/tenants/\(acme.tenantID)/grants", token: op, json: ["feature": "api-calls", "amount": 1])
            #expect(grant.status == 201, "\(grant)")
            let atomic = try await Self.batch(server, acme.token, [Self.event("a1"), Self.event("a2")], atomic: true)
            #expect(atomic.status == 422)
            #expect(try await Self.count(server, acme.tenantID) == 5 + 3)  // 5 calls, 3 token events
            // The grant raised the limit by one: one more call fits.
            #expect(Self.statuses(try await Self.batch(server, acme.token, [Self.event("g1"), Self.event("g2")])) == ["accepted", "rejected:quota_exceeded"])
            let withGrant = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls"])
            #expect(withGrant.object["limit"] as? String == "6")
            #expect((withGrant.object["grants_used"] as? [[String: Any]])?.first?["used"] as? String == "1")

            // A per-tenant override lifts the limit for this tenant only.
            let override = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: ["overrides": ["api-calls": ["limit": 100]]])
            #expect(override.status == 200)
            #expect(Self.statuses(try await Self.batch(server, acme.token, [Self.event("o1")])) == ["accepted"])
            // Voiding the grant lowers the limit again.
            let grantID = try #require(grant.object["id"] as? String)
            let voided = try await server.call(.post, "/v1/tenants/\(acme.tenantID)/grants/\(grantID)/void", token: op)
            #expect(voided.object["voided_at"] is String)
            #expect(try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls"]).object["limit"] as? String == "100")
        }
    }

    @Test(arguments: TestBackend.available)
    func softLimitsAcceptAndNotifyEachThresholdOnce(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let plan: [String: Any] = ["key": "metered", "name": "Metered", "entitlements": [
                "api-calls": ["limit": 10, "enforcement": "soft", "overage": true, "thresholds": [50, 80, 100]],
            ]]
            #expect(try await server.call(.post, "/v1/plans", token: server.operatorToken, json: plan).status == 201)
            _ = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: server.operatorToken, json: ["plan": "metered"])
            // The tenant listens for threshold webhooks.
            let hook = try await server.call(.post, "/v1/webhooks", token: acme.token, json: ["url": "http://127.0.0.1:9/thresholds", "event_types": ["usage.threshold"]])
            let hookID = try #require(hook.object["id"] as? String, "\(hook.text)")
            // 4, then 4 (crosses 50 and 80), then 6 (crosses 100), then 3 more (nothing new).
            for (round, size) in [4, 4, 6, 3].enumerated() {
                let reply = try await Self.batch(server, acme.token, (0..<size).map { Self.event("r\(round)-\($0)") })
                #expect(Self.statuses(reply) == Array(repeating: "accepted", count: size))
            }
            let notes = try await server.call(.get, "/v1/entitlements/notifications", token: acme.token)
            #expect(notes.items.map { $0["threshold"] as? Int ?? 0 }.sorted() == [50, 80, 100])
            #expect(notes.items.allSatisfy { $0["feature"] as? String == "api-calls" && $0["limit"] as? String == "10" })
            // Each threshold went out once as a usage.threshold webhook.
            let sent = try await server.call(.get, "/v1/webhooks/\(hookID)/deliveries", token: acme.token).items
            #expect(sent.allSatisfy { $0["event_type"] as? String == "usage.threshold" })
            let percents = sent.compactMap { (($0["payload"] as? [String: Any])?["data"] as? [String: Any])?["threshold_percent"] as? Int }
            #expect(percents.sorted() == [50, 80, 100], "\(sent)")
            let check = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls", "amount": 2])
            #expect(check.object["allowed"] as? Bool == true)
            #expect(check.object["used"] as? String == "17")
            #expect(check.object["overage"] as? String == "9")
            #expect(check.object["enforcement"] as? String == "soft")
        }
    }

    /// A void or an amendment changes the tenant's usage at once (not at the next reload) and,
    /// on the production backend, in the lease pool nodes share: usage taken back can be booked
    /// again. An amendment is never refused for the limit.
    @Test(arguments: TestBackend.available)
    func correctionsGiveQuotaBackAtOnce(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let op = server.operatorToken
            let plan: [String: Any] = ["key": "small", "name": "Small", "entitlements": ["api-calls": ["limit": 3], "tokens": ["limit": 10]]]
            #expect(try await server.call(.post, "/v1/plans", token: op, json: plan).status == 201)
            #expect(try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: ["plan": "small"]).status == 200)
            func tokens(_ id: String, _ n: Int) -> [String: Any] { Self.event(id, type: "llm.tokens", data: ["n": n]) }
            func check(_ feature: String) async throws -> (used: String?, remaining: String?) {
                let reply = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": feature])
                return (reply.object["used"] as? String, reply.object["remaining"] as? String)
            }

            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t1", 6), tokens("t2", 4), tokens("t3", 1)]))
                == ["accepted", "accepted", "rejected:quota_exceeded"])
            // Void t2: its 4 tokens are free again, in the check and at ingest.
            #expect(try await server.call(.post, "/v1/events/%2F%2Ftest/t2/void", token: acme.token, json: ["reason": "double count"]).status == 201)
            #expect(try await check("tokens") == ("6", "4"))
            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t4", 3), tokens("t5", 2)])) == ["accepted", "rejected:quota_exceeded"])
            // Amend t1 from 6 down to 2: 4 more fit.
            #expect(try await server.call(.post, "/v1/events/%2F%2Ftest/t1/amend", token: acme.token, json: ["data": ["n": 2]]).status == 201)
            #expect(try await check("tokens") == ("5", "5"))
            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t6", 5), tokens("t7", 1)])) == ["accepted", "rejected:quota_exceeded"])
            // Amend t4 from 3 up to 8: booked past the limit, and nothing more fits.
            #expect(try await server.call(.post, "/v1/events/%2F%2Ftest/t4/amend", token: acme.token, json: ["data": ["n": 8]]).status == 201)
            #expect(try await check("tokens") == ("15", "0"))
            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t8", 1)])) == ["rejected:quota_exceeded"])
            // COUNT meters: a voided call frees one call.
            #expect(Self.statuses(try await Self.batch(server, acme.token, (1...4).map { Self.event("c\($0)") }))
                == ["accepted", "accepted", "accepted", "rejected:quota_exceeded"])
            #expect(try await server.call(.post, "/v1/events/%2F%2Ftest/c2/void", token: acme.token, json: [String: Any]()).status == 201)
            #expect(Self.statuses(try await Self.batch(server, acme.token, [Self.event("c5"), Self.event("c6")])) == ["accepted", "rejected:quota_exceeded"])
            #expect(try await Self.count(server, acme.tenantID) == 8)  // voided events stay booked
        }
    }

    /// Redefining a meter recomputes its usage; the quota follows at once and, on the
    /// production backend, so does the lease pool nodes share (it would otherwise go on counting
    /// what was booked under the old definition).
    @Test(arguments: TestBackend.available)
    func meterChangesMoveTheQuotaWithThem(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let op = server.operatorToken
            let plan: [String: Any] = ["key": "tokens10", "name": "Tokens", "entitlements": ["tokens": ["limit": 10]]]
            #expect(try await server.call(.post, "/v1/plans", token: op, json: plan).status == 201)
            #expect(try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: ["plan": "tokens10"]).status == 200)
            func tokens(_ id: String, n: Int, m: Int) -> [String: Any] { Self.event(id, type: "llm.tokens", data: ["n": n, "m": m]) }
            func used() async throws -> String? {
                try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "tokens"]).object["used"] as? String
            }
            func redefine(_ path: String) async throws {
                let reply = try await server.call(.patch, "/v1/meters/tokens", token: acme.token, json: ["value_path": path])
                #expect(reply.status == 200, "\(reply)")
            }

            #expect(Self.statuses(try await Self.batch(server, acme.token, (1...3).map { tokens("t\($0)", n: 2, m: 1) })) == ["accepted", "accepted", "accepted"])
            #expect(try await used() == "6")
            // Counting data.m instead: 3 used, 7 left, and ingest agrees.
            try await redefine("m")
            #expect(try await used() == "3")
            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t4", n: 1, m: 7), tokens("t5", n: 0, m: 1)])) == ["accepted", "rejected:quota_exceeded"])
            // Back to data.n: 2 + 2 + 2 + 1 = 7 used, 3 left.
            try await redefine("n")
            #expect(try await used() == "7")
            #expect(Self.statuses(try await Self.batch(server, acme.token, [tokens("t6", n: 3, m: 0), tokens("t7", n: 1, m: 0)])) == ["accepted", "rejected:quota_exceeded"])
            #expect(try await used() == "10")
        }
    }

    @Test(arguments: TestBackend.available)
    func reservationsHoldQuotaUntilIngestDrawsThemDown(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let plan: [String: Any] = ["key": "small", "name": "Small", "entitlements": ["api-calls": ["limit": 10]]]
            #expect(try await server.call(.post, "/v1/plans", token: server.operatorToken, json: plan).status == 201)
            _ = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: server.operatorToken, json: ["plan": "small"])
            let held = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls", "amount": 8, "reserve": true])
            #expect(held.object["allowed"] as? Bool == true, "\(held)")
            #expect(held.object["reserved"] as? String == "8")
            #expect(held.object["remaining"] as? String == "2")
            // Another caller cannot take what is held.
            let other = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls", "amount": 3, "reserve": true])
            #expect(other.object["allowed"] as? Bool == false)
            #expect(other.object["reserved"] == nil)
            // Usage draws the reservation down: 8 reserved events and 2 more fit, the 11th does not.
            let reply = try await Self.batch(server, acme.token, (1...11).map { Self.event("e\($0)") })
            #expect(Self.statuses(reply) == Array(repeating: "accepted", count: 10) + ["rejected:quota_exceeded"])
            let after = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls"])
            #expect(after.object["used"] as? String == "10")
        }
    }

    @Test(arguments: TestBackend.available)
    func badInputIsRefusedAndChangesNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let op = server.operatorToken
            let planCases: [([String: Any], Int, String, String?)] = [
                (["key": "p1", "name": "P", "entitlements": ["nope": ["enabled": true]]], 422, "validation_failed", "entitlements.nope"),
                (["key": "p1", "name": "P", "entitlements": ["sso": ["limit": 5]]], 422, "validation_failed", "entitlements.sso"),
                (["key": "p1", "name": "P", "entitlements": ["api-calls": ["limit": -1]]], 422, "validation_failed", "entitlements.api-calls.limit"),
                (["key": "p1", "name": "P", "entitlements": ["api-calls": ["limit": 1, "enforcement": "hard", "overage": true]]], 422, "validation_failed", "entitlements.api-calls.overage"),
                (["key": "P1", "name": "P"], 422, "validation_failed", "key"),
                (["key": "p1", "name": "P", "price": 5], 422, "validation_failed", "price"),
                (["key": "p1", "name": "P", "rate_limits": ["tenant_per_second": 0]], 422, "validation_failed", "rate_limits.tenant_per_second"),
            ]
            for (body, status, code, field) in planCases {
                let reply = try await server.call(.post, "/v1/plans", token: op, json: body)
                #expect(reply.status == status, "\(body) → \(reply)")
                #expect(reply.object["code"] as? String == code)
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            #expect(try await server.call(.get, "/v1/plans", token: op).items.isEmpty)
            #expect(try await server.call(.post, "/v1/plans", token: op, json: ["key": "p1", "name": "P"]).status == 201)
            #expect(try await server.call(.post, "/v1/plans", token: op, json: ["key": "p1", "name": "P"]).status == 409)
            #expect(try await server.call(.patch, "/v1/plans/nope", token: op, json: ["name": "X"]).status == 404)
            #expect(try await server.call(.patch, "/v1/plans/p1", token: op, json: ["name": ""]).object["field"] as? String == "name")

            let assignCases: [([String: Any], String)] = [
                (["plan": "nope"], "plan"), (["plan": 5], "plan"), (["overrides": ["nope": ["enabled": true]]], "overrides.nope"),
                (["overrides": ["seats": ["enabled": true]]], "overrides.seats"), (["colour": "red"], "colour"),
            ]
            for (body, field) in assignCases {
                let reply = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: body)
                #expect(reply.status == 422, "\(body) → \(reply)")
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            let unchanged = try await server.call(.get, "/v1/tenants/\(acme.tenantID)/entitlements", token: op)
            #expect(unchanged.object["plan"] is NSNull)
            #expect((unchanged.object["entitlements"] as? [Any])?.isEmpty == true)
            #expect(try await server.call(.put, "/v1/tenants/ten_01JD3ZK4W5Q8N6H2X9R7B1C0VE/entitlements", token: op, json: ["plan": "p1"]).status == 404)

            let grantCases: [([String: Any], String)] = [
                (["feature": "sso", "amount": 5], "feature"), (["feature": "nope", "amount": 5], "feature"), (["feature": "api-calls"], "amount"),
                (["feature": "api-calls", "amount": 0], "amount"), (["feature": "api-calls", "amount": 5, "rollover_cap": 2], "rollover_cap"),
                (["feature": "api-calls", "amount": 5, "expires_at": "yesterday"], "expires_at"),
                (["feature": "api-calls", "amount": 5, "effective_at": "2026-01-02T00:00:00Z", "expires_at": "2026-01-01T00:00:00Z"], "expires_at"),
                (["feature": "api-calls", "amount": 5, "priority": 5000], "priority"),
            ]
            for (body, field) in grantCases {
                let reply = try await server.call(.post, "/v1/tenants/\(acme.tenantID)/grants", token: op, json: body)
                #expect(reply.status == 422, "\(body) → \(reply)")
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            #expect(try await server.call(.get, "/v1/tenants/\(acme.tenantID)/grants", token: op).items.isEmpty)
            #expect(try await server.call(.post, "/v1/tenants/\(acme.tenantID)/grants/grt_01JD3ZK4W5Q8N6H2X9R7B1C0VE/void", token: op).status == 404)

            let checkCases: [([String: Any], Int, String?)] = [
                (["amount": 1], 422, "feature"), (["feature": "api-calls", "amount": -1], 422, "amount"),
                (["feature": "api-calls", "reserve": true], 422, "amount"), (["feature": "api-calls", "reserve_seconds": 5], 422, "reserve_seconds"),
                (["feature": "api-calls", "amount": 1, "reserve": true, "reserve_seconds": 0], 422, "reserve_seconds"),
                (["feature": "nope"], 404, nil),
            ]
            for (body, status, field) in checkCases {
                let reply = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: body)
                #expect(reply.status == status, "\(body) → \(reply)")
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            // A feature the tenant has no entitlement to is not allowed.
            let none = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "sso"])
            #expect(none.object["allowed"] as? Bool == false)
            #expect(none.object["reason"] as? String == "not_entitled")
            let noScope = try await server.makeTenant("writer", scopes: ["events:write"])
            #expect(try await server.call(.post, "/v1/entitlements/check", token: noScope.token, json: ["feature": "sso"]).status == 403)
        }
    }

    @Test(arguments: TestBackend.available)
    func plansSetDefaultRateLimits(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await Self.setUp(server)
            let plan: [String: Any] = ["key": "slow", "name": "Slow", "rate_limits": ["tenant_per_second": 2]]
            #expect(try await server.call(.post, "/v1/plans", token: server.operatorToken, json: plan).status == 201)
            _ = try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: server.operatorToken, json: ["plan": "slow"])
            await server.platform.metering.directory.invalidate(TenantID(acme.tenantID)!)
            // Six requests at once against two a second: two pass, the rest are refused (sent together,
            // so even a starved machine cannot space them out enough to refill).
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await server.call(.get, "/v1/entitlements", token: acme.token).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(Set(statuses).isSubset(of: [200, 429]), "\(statuses)")
            #expect((2...3).contains(statuses.filter { $0 == 200 }.count), "\(statuses)")
            let limited = try await server.call(.get, "/v1/entitlements", token: acme.token)
            #expect(limited.headers[.init("RateLimit-Policy")!]?.contains("q=2") == true)
        }
    }
}
