import Core
import Foundation
import HTTPFront
import HTTPTypes
import Hummingbird
import TallyTestSupport
import Testing

/// Tenant A's key must see and touch none of tenant B's resources, on every `/v1` route.
/// The test fails if a route exists that has no probe here, so new routes must add one.
@Suite struct TenantIsolationTests {
    struct World: Sendable {
        let server: TestServer
        let a: (tenantID: String, keyID: String, token: String)
        let b: (tenantID: String, keyID: String, token: String)
        let bIdentity: String
        let operatorKeyID: String
    }

    typealias Probe = @Sendable (World) async throws -> Void

    /// One probe per route, keyed as "METHOD /template".
    static let probes: [String: Probe] = [
        "GET /v1/me": { w async throws in
            let me = try await w.server.call(.get, "/v1/me", token: w.a.token)
            #expect(me.object["tenant_id"] as? String == w.a.tenantID)
        },
        "GET /v1/tenants": { w async throws in #expect(try await w.server.call(.get, "/v1/tenants", token: w.a.token).status == 403) },
        "POST /v1/tenants": { w async throws in
            #expect(try await w.server.call(.post, "/v1/tenants", token: w.a.token, json: ["slug": "evil", "name": "Evil"]).status == 403)
            await #expect(throws: TallyError.self) { try await w.server.platform.tenants.find("evil") }
        },
        "GET /v1/tenants/{id}": { w async throws in
            let reply = try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)", token: w.a.token)
            #expect(reply.status == 404)
            #expect(!reply.text.contains("tenant-b"))
        },
        "PATCH /v1/tenants/{id}": { w async throws in
            #expect(try await w.server.call(.patch, "/v1/tenants/\(w.b.tenantID)", token: w.a.token, json: ["status": "suspended"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/me", token: w.b.token).status == 200)
        },
        "GET /v1/tenants/{id}/api-keys": { w async throws in
            #expect(try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)/api-keys", token: w.a.token).status == 403)
        },
        "POST /v1/tenants/{id}/api-keys": { w async throws in
            #expect(try await w.server.call(.post, "/v1/tenants/\(w.b.tenantID)/api-keys", token: w.a.token, json: ["name": "x"]).status == 403)
        },
        "POST /v1/tenants/{id}/api-keys/{key_id}/revoke": { w async throws in
            #expect(try await w.server.call(.post, "/v1/tenants/\(w.b.tenantID)/api-keys/\(w.b.keyID)/revoke", token: w.a.token).status == 403)
            #expect(try await w.server.call(.get, "/v1/me", token: w.b.token).status == 200)
        },
        "GET /v1/api-keys": { w async throws in
            let list = try await w.server.call(.get, "/v1/api-keys?limit=200", token: w.a.token)
            #expect(list.status == 200)
            #expect(!list.items.isEmpty)
            #expect(list.items.allSatisfy { $0["tenant_id"] as? String == w.a.tenantID })
            #expect(!list.text.contains(w.b.keyID))
        },
        "POST /v1/api-keys": { w async throws in
            let created = try await w.server.call(.post, "/v1/api-keys", token: w.a.token, json: ["name": "mine"])
            #expect(created.status == 201)
            #expect(created.object["tenant_id"] as? String == w.a.tenantID)
            // Naming B's service identity does not attach A's key to it.
            let foreign = try await w.server.call(.post, "/v1/api-keys", token: w.a.token, json: ["name": "x", "service_identity_id": w.bIdentity])
            #expect(foreign.status == 404)
        },
        "GET /v1/api-keys/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/api-keys/\(w.b.keyID)", token: w.a.token).status == 404)
        },
        "POST /v1/api-keys/{id}/revoke": { w async throws in
            #expect(try await w.server.call(.post, "/v1/api-keys/\(w.b.keyID)/revoke", token: w.a.token).status == 404)
            #expect(try await w.server.call(.get, "/v1/me", token: w.b.token).status == 200)
        },
        "GET /v1/operator/api-keys": { w async throws in
            #expect(try await w.server.call(.get, "/v1/operator/api-keys", token: w.a.token).status == 403)
        },
        "POST /v1/operator/api-keys": { w async throws in
            #expect(try await w.server.call(.post, "/v1/operator/api-keys", token: w.a.token, json: ["name": "root"]).status == 403)
        },
        "POST /v1/operator/api-keys/{id}/revoke": { w async throws in
            #expect(try await w.server.call(.post, "/v1/operator/api-keys/\(w.operatorKeyID)/revoke", token: w.a.token).status == 403)
            #expect(try await w.server.call(.get, "/v1/me", token: w.server.operatorToken).status == 200)
        },
        "GET /v1/service-identities": { w async throws in
            let list = try await w.server.call(.get, "/v1/service-identities", token: w.a.token)
            #expect(list.status == 200)
            #expect(list.items.allSatisfy { $0["tenant_id"] as? String == w.a.tenantID })
            #expect(!list.text.contains(w.bIdentity))
        },
        "POST /v1/service-identities": { w async throws in
            let created = try await w.server.call(.post, "/v1/service-identities", token: w.a.token, json: ["name": "a-robot"])
            #expect(created.object["tenant_id"] as? String == w.a.tenantID)
        },
        "GET /v1/service-identities/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/service-identities/\(w.bIdentity)", token: w.a.token).status == 404)
        },
        "POST /v1/service-identities/{id}/disable": { w async throws in
            #expect(try await w.server.call(.post, "/v1/service-identities/\(w.bIdentity)/disable", token: w.a.token).status == 404)
            let stillThere = try await w.server.call(.get, "/v1/service-identities/\(w.bIdentity)", token: w.b.token)
            #expect(stillThere.object["disabled_at"] is NSNull)
        },
    ]

    @Test(arguments: TestBackend.available)
    func tenantAKeySeesNothingOfTenantB(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let a = try await server.makeTenant("tenant-a")
            let b = try await server.makeTenant("tenant-b")
            let identity = try await server.call(.post, "/v1/service-identities", token: b.token, json: ["name": "b-robot"])
            let bIdentity = try #require(identity.object["id"] as? String)
            let me = try await server.call(.get, "/v1/me", token: server.operatorToken)
            let world = World(server: server, a: a, b: b, bIdentity: bIdentity, operatorKeyID: try #require(me.object["api_key_id"] as? String))

            let routes = Set(server.routes.filter { $0.contains(" /v1/") })
            let unprobed = routes.subtracting(Self.probes.keys)
            #expect(unprobed.isEmpty, "routes without an isolation probe: \(unprobed.sorted())")
            for route in routes.sorted() {
                try await Self.probes[route]?(world)
            }
        }
    }
}
