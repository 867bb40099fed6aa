import Core
import Foundation
import HTTPTypes
import TallyTestSupport
import Testing

/// Rate limits over real sockets: per tenant and per key from the tenant's settings, the IETF
/// RateLimit headers, 429 with Retry-After, and the failed-authentication limit per address.
@Suite struct RateLimitHTTPTests {
    static let policy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!

    @Test func tenantAndKeyLimitsFromTheTenantsSettings() async throws {
        try await TestServer.run(.sqlite) { server in
            let slow = try await server.makeTenant("slow")
            let other = try await server.makeTenant("other")
            // One request per second for the whole tenant.
            let set = try await server.call(.patch, "/v1/tenants/\(slow.tenantID)", token: server.operatorToken, json: ["settings": ["rate_limits": ["tenant_per_second": 1]]])
            #expect(set.status == 200, "\(set)")
            // Five requests at once against one a second: the first passes, the rest are refused at
            // once (sent together, so even a starved machine cannot space them a second apart).
            async let a = server.call(.get, "/v1/me", token: slow.token)
            async let b = server.call(.get, "/v1/me", token: slow.token)
            async let c = server.call(.get, "/v1/me", token: slow.token)
            async let d = server.call(.get, "/v1/me", token: slow.token)
            async let e = server.call(.get, "/v1/me", token: slow.token)
            let replies = try await [a, b, c, d, e]
            let passed = replies.filter { $0.status == 200 }
            let refused = replies.filter { $0.status == 429 }
            #expect(passed.count + refused.count == 5)
            #expect((1...2).contains(passed.count), "\(replies.map(\.status))")
            let first = try #require(passed.first)
            #expect(first.headers[Self.policy]?.contains("\"tenant\";q=1;w=1") == true)
            #expect(first.headers[Self.rateLimit]?.hasPrefix("\"tenant\";r=0") == true)
            let second = try #require(refused.first)
            #expect(second.object["code"] as? String == "rate_limited")
            #expect(second.headers[.retryAfter] == "1")
            #expect(second.headers[Self.rateLimit] != nil)
            // Another tenant has its own budget (the node default).
            #expect(try await server.call(.get, "/v1/me", token: other.token).status == 200)
            try await Task.sleep(for: .milliseconds(1_100))
            #expect(try await server.call(.get, "/v1/me", token: slow.token).status == 200)
        }
    }

    @Test func aKeyLimitLeavesTheTenantsOtherKeysAlone() async throws {
        try await TestServer.run(.sqlite) { server in
            let acme = try await server.makeTenant("acme")
            _ = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["settings": ["rate_limits": ["key_per_second": 1, "tenant_per_second": 1000]]])
            let second = try await server.call(.post, "/v1/tenants/\(acme.tenantID)/api-keys", token: server.operatorToken, json: ["name": "second"])
            let secondToken = try #require(second.object["secret"] as? String)
            // Three at once on a key allowed one a second: one passes; the tenant's other key is unaffected.
            async let x = server.call(.get, "/v1/me", token: acme.token)
            async let y = server.call(.get, "/v1/me", token: acme.token)
            async let z = server.call(.get, "/v1/me", token: acme.token)
            let statuses = try await [x, y, z].map(\.status)
            #expect(Set(statuses).isSubset(of: [200, 429]) && (1...2).contains(statuses.filter { $0 == 200 }.count), "\(statuses)")
            #expect(try await server.call(.get, "/v1/me", token: secondToken).status == 200)

            for (settings, field) in [
                (["rate_limits": ["tenant_per_second": 0]], "settings.rate_limits.tenant_per_second"),
                (["rate_limits": ["key_per_second": "fast"]], "settings.rate_limits.key_per_second"),
                (["rate_limits": ["ip_per_second": 5]], "settings.rate_limits.ip_per_second"),
                (["rate_limits": 5], "settings.rate_limits"),
            ] as [([String: Any], String)] {
                let reply = try await server.call(.patch, "/v1/tenants/\(acme.tenantID)", token: server.operatorToken, json: ["settings": settings])
                #expect(reply.status == 422, "\(settings) → \(reply)")
                #expect(reply.object["field"] as? String == field)
            }
        }
    }

    @Test func repeatedFailedAuthenticationIsRefusedPerAddress() async throws {
        try await TestServer.run(.sqlite, configure: { $0.rateLimitAuthFailuresPerMinute = 3 }) { server in
            let acme = try await server.makeTenant("acme")
            for _ in 0..<3 {
                #expect(try await server.call(.get, "/v1/me", token: "tly_nope").status == 401)
            }
            let refused = try await server.call(.get, "/v1/me", token: acme.token)  // even a good key, from this address
            #expect(refused.status == 429)
            #expect(refused.object["code"] as? String == "too_many_auth_failures")
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // No credential at all is still a plain 401, and counts nothing.
            #expect(try await server.call(.get, "/v1/me").status == 401)
        }
    }

    /// After a 429 the server reads nothing more from that connection for the pause (here
    /// 400 ms): a request sent straight after the refusal is answered no sooner, and is answered.
    @Test func aConnectionThatWasRefusedIsNotReadForAWhile() async throws {
        try await TestServer.run(.sqlite, configure: { $0.rateLimitRefusalPauseMilliseconds = 400 }) { server in
            let slow = try await server.makeTenant("slow")
            _ = try await server.call(.patch, "/v1/tenants/\(slow.tenantID)", token: server.operatorToken, json: ["settings": ["rate_limits": ["tenant_per_second": 1]]])
            let connection = try RawHTTPConnection(port: try #require(server.client.port))
            let request = "GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(slow.token)\r\n\r\n"
            var statuses: [String] = []
            var refusedAt: ContinuousClock.Instant?
            // The first passes; the next ones, sent as soon as the previous answer is in, are
            // refused until one comes after the refusal's pause.
            for _ in 0..<3 {
                connection.send(request)
                let answer = await connection.readAll()
                statuses.append(String(answer.prefix(12)))
                if answer.hasPrefix("HTTP/1.1 429") && refusedAt == nil {
                    refusedAt = .now
                    #expect(answer.contains("retry-after: 1") || answer.contains("Retry-After: 1"))
                }
            }
            #expect(statuses.first == "HTTP/1.1 200")
            let refused = try #require(refusedAt, "\(statuses)")
            #expect(ContinuousClock.now - refused >= .milliseconds(400), "the request after the refusal waited out the pause")
            #expect(statuses.count == 3 && statuses.allSatisfy { $0 == "HTTP/1.1 200" || $0 == "HTTP/1.1 429" }, "\(statuses)")
        }
    }
}
