import Core
import Foundation
import HTTPFront
import HTTPTypes
import Hummingbird
import Storage
import TallyTestSupport
import Testing

/// The HTTP front over a real socket, on every backend.
@Suite struct HTTPTests {
    @Test(arguments: TestBackend.available)
    func healthEndpoints(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let live = try await server.call(.get, "/health/live")
            #expect(live.status == 200)
            #expect(live.object["status"] as? String == "ok")
            let ready = try await server.call(.get, "/health/ready")
            #expect(ready.status == 200, "\(ready)")
            let checks = try #require(ready.object["checks"] as? [String: [String: Any]])
            #expect(checks["database"]?["status"] as? String == "ok")
            if backend == .postgres { #expect(checks["redis"]?["status"] as? String == "ok") }
        }
    }

    @Test func readinessNamesTheFailingDependency() async throws {
        var configuration = RedisClient.Configuration(url: RedisURL(host: "127.0.0.1", port: 1, password: nil, database: 0))
        configuration.connectTimeout = .milliseconds(300)
        let deadRedis = RedisClient(configuration: configuration, logger: TestBackend.logger)
        let check = DependencyCheck(name: "redis") { _ = try await deadRedis.send("PING") }
        try await TestServer.run(.sqlite, extraDependencies: [check]) { server in
            let ready = try await server.call(.get, "/health/ready")
            #expect(ready.status == 503)
            #expect(ready.headers[.contentType] == "application/problem+json")
            #expect(ready.headers[.retryAfter] == "1")
            #expect(ready.code == "dependency_unavailable")
            #expect((ready.object["detail"] as? String)?.contains("redis") == true)
            let checks = try #require(ready.object["checks"] as? [String: [String: Any]])
            #expect(checks["redis"]?["status"] as? String == "failed")
            #expect(checks["database"]?["status"] as? String == "ok")
        }
        await deadRedis.shutdown()
    }

    @Test func singleHeaderValuesMatchTheSubscript() {
        var fields: HTTPFields = [.authorization: "Bearer a", .contentType: "application/json"]
        #expect(fields.single(.authorization) == "Bearer a")
        #expect(fields.single(HTTPField.Name("AUTHORIZATION")!) == "Bearer a")  // names compare case-insensitively
        #expect(fields.single(.contentLength) == nil)
        fields.append(HTTPField(name: .authorization, value: "Bearer b"))
        #expect(fields.single(.authorization) == "Bearer a, Bearer b")
        #expect(fields.single(.authorization) == fields[.authorization])
    }

    @Test func requestIDsAndSecurityHeaders() async throws {
        try await TestServer.run(.sqlite) { server in
            let echoed = try await server.call(.get, "/health/live", headers: [HTTPField.Name("X-Request-Id")!: "client-id-123"])
            #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "client-id-123")
            let generated = try await server.call(.get, "/health/live", headers: [HTTPField.Name("X-Request-Id")!: String(repeating: "x", count: 500)])
            let id = try #require(generated.headers[HTTPField.Name("X-Request-Id")!])
            #expect(id.hasPrefix("req_") && id.utf8.count == 30)
            let next = try #require(try await server.call(.get, "/health/live").headers[HTTPField.Name("X-Request-Id")!])
            #expect(next.hasPrefix("req_") && next.utf8.count == 30 && next != id)
            #expect(generated.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(generated.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(generated.headers[.cacheControl] == "no-store")
            let missing = try await server.call(.get, "/nope")
            #expect(missing.status == 404)
            #expect(missing.code == "not_found")
            #expect(missing.object["request_id"] as? String == missing.headers[HTTPField.Name("X-Request-Id")!])
            #expect(missing.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(try await server.call(.delete, "/v1/api-keys/key_00000000000000000000000000").status == 405)
            let wrongMethod = try await server.call(.put, "/v1/tenants")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.code == "method_not_allowed")
            #expect(wrongMethod.headers[.allow] == "GET, POST")
        }
    }

    /// A key's use reaches its `last_used_at` (recorded in batches by the server's
    /// `KeyUsageRecorder`, every 5 seconds).
    @Test(arguments: TestBackend.available)
    func aKeysUseShowsAsItsLastUse(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            func lastUsed() async throws -> Any? {
                let keys = try await server.call(.get, "/v1/api-keys", token: acme.token)
                return keys.items.first { $0["id"] as? String == acme.keyID }?["last_used_at"] ?? nil
            }
            let deadline = ContinuousClock.now + .seconds(60)
            var used = try await lastUsed()
            while used == nil || used is NSNull, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                used = try await lastUsed()
            }
            #expect(used is String, "last_used_at stayed \(String(describing: used))")
        }
    }

    @Test(arguments: TestBackend.available)
    func operatorAndTenantTour(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            let me = try await server.call(.get, "/v1/me", token: acme.token)
            #expect(me.status == 200)
            #expect(me.object["tenant_id"] as? String == acme.tenantID)
            #expect(me.object["kind"] as? String == "tenant")

            let own = try await server.call(.get, "/v1/tenants/\(acme.tenantID)", token: acme.token)
            #expect(own.status == 200)
            #expect(own.object["slug"] as? String == "acme")

            // A service identity owns a key; disabling it revokes that key.
            let robot = try await server.call(.post, "/v1/service-identities", token: acme.token, json: ["name": "exporter"])
            #expect(robot.status == 201)
            let robotID = try #require(robot.object["id"] as? String)
            let robotKey = try await server.call(.post, "/v1/api-keys", token: acme.token, json: ["name": "robot", "service_identity_id": robotID, "scopes": ["keys:read"]])
            #expect(robotKey.status == 201, "\(robotKey)")
            #expect(robotKey.object["digest"] == nil)
            let robotToken = try #require(robotKey.object["secret"] as? String)
            #expect(try await server.call(.get, "/v1/api-keys", token: robotToken).status == 200)
            // Scopes hold: a keys:read key cannot write.
            let denied = try await server.call(.post, "/v1/service-identities", token: robotToken, json: ["name": "x"])
            #expect(denied.status == 403)
            #expect(denied.code == "forbidden")
            let disabled = try await server.call(.post, "/v1/service-identities/\(robotID)/disable", token: acme.token)
            #expect(disabled.status == 200)
            #expect(disabled.object["disabled_at"] is String)
            // Disabled identities and revoked keys stay readable (audit), marked as such.
            #expect(try await server.call(.get, "/v1/service-identities/\(robotID)", token: acme.token).object["disabled_at"] is String)
            let robotKeyID = try #require(robotKey.object["id"] as? String)
            #expect(try await server.call(.get, "/v1/api-keys/\(robotKeyID)", token: acme.token).object["revoked_at"] is String)
            // A disabled identity cannot get new keys.
            let refused = try await server.call(.post, "/v1/api-keys", token: acme.token, json: ["name": "late", "service_identity_id": robotID])
            #expect(refused.status == 409)
            #expect(refused.object["field"] as? String == "service_identity_id")
            let afterDisable = try await server.call(.get, "/v1/api-keys", token: robotToken)
            #expect(afterDisable.status == 401)
            #expect(afterDisable.code == "api_key_revoked")

            // A key cannot grant more than it holds.
            let readOnly = try await server.call(.post, "/v1/api-keys", token: acme.token, json: ["name": "ro", "scopes": ["keys:read"]])
            let readOnlyToken = try #require(readOnly.object["secret"] as? String)
            let escalation = try await server.call(.post, "/v1/api-keys", token: readOnlyToken, json: ["name": "esc", "scopes": ["keys:write"]])
            #expect(escalation.status == 403)
        }
    }

    @Test(arguments: TestBackend.available)
    func credentialErrors(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            let none = try await server.call(.get, "/v1/me")
            #expect(none.status == 401)
            #expect(none.code == "missing_credentials")
            #expect(none.headers[.wwwAuthenticate] == "Bearer realm=\"tally\"")
            #expect(none.headers[.contentType] == "application/problem+json")
            let basic = try await server.call(.get, "/v1/me", headers: [.authorization: "Basic abc"])
            #expect(basic.code == "missing_credentials")
            #expect(try await server.call(.get, "/v1/me", token: "garbage").code == "invalid_api_key")
            let forged = APIKeyToken.generate(keyID: APIKeyID(acme.keyID)!).text
            #expect(try await server.call(.get, "/v1/me", token: forged).code == "invalid_api_key")

            // Revocation answers 401 at once on this node.
            #expect(try await server.call(.post, "/v1/tenants/\(acme.tenantID)/api-keys/\(acme.keyID)/revoke", token: server.operatorToken).status == 200)
            let revoked = try await server.call(.get, "/v1/me", token: acme.token)
            #expect(revoked.status == 401)
            #expect(revoked.code == "api_key_revoked")
        }
    }

    @Test(arguments: TestBackend.available)
    func suspendedTenantsGet403AndResumeWorks(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            #expect(try await server.call(.get, "/v1/me", token: acme.token).status == 200)  // warms the credential cache
            let suspended = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["status": "suspended"])
            #expect(suspended.object["status"] as? String == "suspended")
            let refused = try await server.call(.get, "/v1/me", token: acme.token)
            #expect(refused.status == 403)
            #expect(refused.code == "tenant_suspended")
            _ = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["status": "active"])
            #expect(try await server.call(.get, "/v1/me", token: acme.token).status == 200)
            _ = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["status": "deleted"])
            #expect(try await server.call(.get, "/v1/me", token: acme.token).code == "tenant_deleted")
            let revive = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["status": "active"])
            #expect(revive.status == 409)
            #expect(revive.code == "conflict")
            #expect(try await server.platform.tenants.get(TenantID(acme.tenantID)!).status == .deleted)
        }
    }

    @Test(arguments: TestBackend.available)
    func badInputGetsProblemsAndChangesNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend, maxBodyBytes: 2048) { server in
            let op = server.operatorToken
            func tenantCount() async throws -> Int { try await server.platform.tenants.list(PageRequest(limit: 200)).items.count }
            let before = try await tenantCount()

            let malformed = try await server.call(.post, "/v1/tenants", token: op, rawBody: "{\"slug\": ", headers: [.contentType: "application/json"])
            #expect(malformed.status == 400)
            #expect(malformed.code == "malformed_json")
            #expect(malformed.headers[.contentType] == "application/problem+json")

            let notObject = try await server.call(.post, "/v1/tenants", token: op, rawBody: "[1,2]", headers: [.contentType: "application/json"])
            #expect(notObject.code == "malformed_json")

            let wrongType = try await server.call(.post, "/v1/tenants", token: op, rawBody: "slug=a", headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(wrongType.status == 415)
            #expect(wrongType.code == "unsupported_media_type")

            let oversized = try await server.call(.post, "/v1/tenants", token: op, json: ["slug": "big", "name": String(repeating: "x", count: 5000)])
            #expect(oversized.status == 413)
            #expect(oversized.code == "body_too_large")

            let missingField = try await server.call(.post, "/v1/tenants", token: op, json: ["slug": "only-slug"])
            #expect(missingField.status == 422)
            #expect(missingField.code == "validation_failed")
            #expect(missingField.object["field"] as? String == "name")

            let badSlug = try await server.call(.post, "/v1/tenants", token: op, json: ["slug": "Not A Slug", "name": "x"])
            #expect(badSlug.status == 422)
            #expect(badSlug.object["field"] as? String == "slug")

            let badType = try await server.call(.post, "/v1/tenants", token: op, json: ["slug": "ok-slug", "name": 42])
            #expect(badType.status == 422)
            #expect(badType.object["field"] as? String == "name")

            #expect(try await tenantCount() == before)

            _ = try await server.makeTenant("taken")
            let duplicate = try await server.call(.post, "/v1/tenants", token: op, json: ["slug": "taken", "name": "Again"])
            #expect(duplicate.status == 409)
            #expect(duplicate.object["field"] as? String == "slug")
            #expect(try await tenantCount() == before + 1)

            let badLimit = try await server.call(.get, "/v1/tenants?limit=0", token: op)
            #expect(badLimit.status == 400)
            #expect(badLimit.code == "invalid_parameter")
            #expect(badLimit.object["field"] as? String == "limit")

            let badStatus = try await server.call(.patch, "/v1/tenants/\(try await server.platform.tenants.find("taken").id.rawValue)", token: op, json: ["status": "frozen"])
            #expect(badStatus.status == 422)
            #expect(badStatus.object["field"] as? String == "status")

            let badScope = try await server.call(.post, "/v1/api-keys", token: try await server.makeTenant("scoped").token, json: ["name": "x", "scopes": ["root"]])
            #expect(badScope.status == 422)
            #expect(badScope.object["field"] as? String == "scopes.0")

            let unknownTenant = try await server.call(.get, "/v1/tenants/ten_00000000000000000000000000", token: op)
            #expect(unknownTenant.status == 404)
            #expect(try await server.call(.get, "/v1/tenants/not-an-id", token: op).status == 404)
        }
    }

    @Test(arguments: TestBackend.available)
    func listsPage(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            for index in 0..<4 { _ = try await server.call(.post, "/v1/api-keys", token: acme.token, json: ["name": "k\(index)"]) }
            let first = try await server.call(.get, "/v1/api-keys?limit=2", token: acme.token)
            #expect(first.items.count == 2)
            #expect(first.object["has_more"] as? Bool == true)
            let cursor = try #require(first.object["next_cursor"] as? String)
            let rest = try await server.call(.get, "/v1/api-keys?limit=10&after=\(cursor)", token: acme.token)
            #expect(rest.items.count == 3)
            #expect(rest.object["has_more"] as? Bool == false)
            let firstIDs = Set(first.items.compactMap { $0["id"] as? String })
            #expect(firstIDs.isDisjoint(with: rest.items.compactMap { $0["id"] as? String }))
        }
    }

    @Test func metricsCountRequestsByRouteTemplate() async throws {
        try await TestServer.run(.sqlite) { server in
            let acme = try await server.makeTenant("acme")
            _ = try await server.call(.get, "/v1/tenants/\(acme.tenantID)", token: acme.token)
            _ = try await server.call(.get, "/v1/me")
            let metrics = try await server.call(.get, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("tally_http_requests_total{"))
            #expect(metrics.text.contains("route=\"/v1/tenants/{id}\""))
            #expect(metrics.text.contains("status=\"401\""))
            #expect(metrics.text.contains("tally_http_request_duration_seconds_bucket"))
            #expect(!metrics.text.contains(acme.tenantID))
        }
    }

    /// Each group commit is exported: its events (Tally's buckets, not the duration ones), its
    /// oldest request's wait and its transaction's time.
    @Test func metricsMeasureGroupCommits() async throws {
        try await TestServer.run(.sqlite) { server in
            let acme = try await server.makeTenant("acme")
            let now = ISO8601DateFormatter().string(from: Date())
            let batch = (0..<3).map { index in
                ["specversion": "1.0", "id": "m\(index)", "source": "//metrics", "type": "api.call", "time": now, "data": [:]] as [String: Any]
            }
            let posted = try await server.call(.post, "/v1/events", token: acme.token, json: batch, headers: [.contentType: "application/cloudevents-batch+json"])
            #expect(posted.status == 200)
            let text = try await server.call(.get, "/metrics").text
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.contains("tally_ledger_group_commit_events_count 1"))
            #expect(lines.contains("tally_ledger_group_commit_events_sum 3.0"))
            #expect(lines.contains("tally_ledger_group_commit_events_bucket{le=\"2.0\"} 0"))
            #expect(lines.contains("tally_ledger_group_commit_events_bucket{le=\"4.0\"} 1"))
            #expect(lines.contains("tally_ledger_group_commit_wait_seconds_count 1"))
            #expect(lines.contains("tally_ledger_group_commit_duration_seconds_count 1"))
        }
    }

    /// `/metrics` also carries the process's own series, as Prometheus's process collector
    /// names them, read at scrape time: CPU only grows, memory and descriptors are this
    /// process's, the start time is in the past.
    @Test func metricsCarryTheProcessSeries() async throws {
        try await TestServer.run(.sqlite) { server in
            func values() async throws -> [String: Double] {
                let metrics = try await server.call(.get, "/metrics")
                #expect(metrics.status == 200)
                var found: [String: Double] = [:]
                for line in metrics.text.split(separator: "\n") where line.hasPrefix("process_") {
                    let parts = line.split(separator: " ")
                    if parts.count == 2, let value = Double(parts[1]) { found[String(parts[0])] = value }
                }
                return found
            }
            let before = try await values()
            for _ in 0..<200 { _ = try await server.call(.get, "/v1/me") }  // some CPU between the scrapes
            let after = try await values()
            let names = ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                         "process_start_time_seconds", "process_open_fds", "process_max_fds"]
            #expect(Set(after.keys) == Set(names), "\(after)")
            let cpu = try #require(before["process_cpu_seconds_total"]), cpuAfter = try #require(after["process_cpu_seconds_total"])
            #expect(cpu > 0 && cpuAfter >= cpu)
            #expect(try #require(after["process_resident_memory_bytes"]) > 1_000_000)
            #expect(try #require(after["process_virtual_memory_bytes"]) >= after["process_resident_memory_bytes"]!)
            let started = try #require(after["process_start_time_seconds"]), now = Date().timeIntervalSince1970
            #expect(started <= now && started > now - 86_400 * 365)
            #expect(try #require(after["process_open_fds"]) > 2 && after["process_open_fds"]! <= after["process_max_fds"]!)
        }
    }
}
