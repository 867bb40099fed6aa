import Core
import Foundation
import TallyTestSupport
import Testing

@Suite struct FeatureHTTPTests {
    @Test(arguments: TestBackend.available)
    func operatorsDefineFeaturesAndTenantsReadThem(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("acme")
            let created = try await server.call(.post, "/v1/features", token: server.operatorToken,
                                                json: ["key": "api-calls", "name": "  API calls ", "kind": "metered", "meter": "calls"])
            #expect(created.status == 201, "\(created)")
            #expect(created.object["name"] as? String == "API calls")
            let list = try await server.call(.get, "/v1/features", token: acme.token)
            #expect(list.status == 200)
            #expect(list.items.map { $0["key"] as? String } == ["api-calls"])
            #expect(try await server.call(.get, "/v1/features/api-calls", token: acme.token).object["meter"] as? String == "calls")

            let cases: [([String: Any], Int, String, String?)] = [
                (["key": "api-calls", "name": "Again", "kind": "boolean"], 409, "conflict", "key"),
                (["key": "-bad", "name": "Bad", "kind": "boolean"], 422, "validation_failed", "key"),
                (["key": "seats", "name": "", "kind": "static"], 422, "validation_failed", "name"),
                (["key": "tokens", "name": "Tokens", "kind": "metered"], 422, "validation_failed", "meter"),
                (["key": "sso", "name": "SSO", "kind": "boolean", "meter": "calls"], 422, "validation_failed", "meter"),
                (["key": "x1", "name": "X", "kind": "quantum"], 422, "validation_failed", "kind"),
            ]
            for (body, status, code, field) in cases {
                let reply = try await server.call(.post, "/v1/features", token: server.operatorToken, json: body)
                #expect(reply.status == status, "\(body) → \(reply)")
                #expect(reply.object["code"] as? String == code, "\(body)")
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            #expect(try await server.call(.post, "/v1/features", token: acme.token, json: ["key": "mine", "name": "Mine", "kind": "boolean"]).status == 403)
            let noRead = try await server.makeTenant("writer", scopes: ["events:write"])
            #expect(try await server.call(.get, "/v1/features", token: noRead.token).status == 403)
            #expect(try await server.call(.get, "/v1/features", token: server.operatorToken).items.count == 1)  // nothing else was added
        }
    }
}
