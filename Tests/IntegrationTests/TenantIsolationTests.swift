import Billing
import Core
import Foundation
import HTTPFront
import Metering
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
        let bWebhook: String
        let bDelivery: String
        let bSubscription: String
        let bInvoice: String
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
        "POST /v1/meters": { w async throws in
            let created = try await w.server.call(.post, "/v1/meters", token: w.a.token, json: ["slug": "b-meter", "event_type": "a.event", "aggregation": "COUNT"])
            #expect(created.status == 201)  // the same slug in another tenant is A's own meter
            let bMeter = try await w.server.call(.get, "/v1/meters/b-meter", token: w.b.token)
            #expect(bMeter.object["event_type"] as? String == "b.event")
        },
        "GET /v1/meters": { w async throws in
            let list = try await w.server.call(.get, "/v1/meters", token: w.a.token)
            #expect(list.status == 200)
            #expect(!list.text.contains("b.event"))
        },
        "GET /v1/meters/{slug}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/meters/b-only", token: w.a.token).status == 404)
        },
        "GET /v1/meters/{slug}/query": { w async throws in
            #expect(try await w.server.call(.get, "/v1/meters/b-only/query?\(TenantIsolationTests.range)", token: w.a.token).status == 404)
        },
        "GET /v1/usage": { w async throws in
            let usage = try await w.server.call(.get, "/v1/usage?\(TenantIsolationTests.range)", token: w.a.token)
            #expect(usage.status == 200)
            #expect(!usage.text.contains("b-only"))
        },
        "GET /api/usage": { w async throws in
            let usage = try await w.server.call(.get, "/api/usage?\(TenantIsolationTests.range)", token: w.a.token)
            #expect(usage.status == 200)
            #expect(!usage.text.contains("b-only"))
        },
        "PATCH /v1/meters/{slug}": { w async throws in
            #expect(try await w.server.call(.patch, "/v1/meters/b-only", token: w.a.token, json: ["event_type": "a.event"]).status == 404)
            let bMeter = try await w.server.call(.get, "/v1/meters/b-only", token: w.b.token)
            #expect(bMeter.object["event_type"] as? String == "b.event")
        },
        "GET /v1/events/{source}/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/events/%2F%2Fb/b-evt-3", token: w.a.token).status == 404)
            #expect(try await w.server.call(.get, "/v1/events/%2F%2Fb/b-evt-3", token: w.b.token).status == 200)
        },
        "POST /v1/events/{source}/{id}/void": { w async throws in
            #expect(try await w.server.call(.post, "/v1/events/%2F%2Fb/b-evt-3/void", token: w.a.token, json: ["reason": "x"]).status == 404)
            #expect(try await w.server.call(.get, "/v1/events/%2F%2Fb/b-evt-3", token: w.b.token).object["status"] as? String == "active")
        },
        "POST /v1/events/{source}/{id}/amend": { w async throws in
            #expect(try await w.server.call(.post, "/v1/events/%2F%2Fb/b-evt-3/amend", token: w.a.token, json: ["data": ["x": 1]]).status == 404)
            #expect(try await w.server.call(.get, "/v1/events/%2F%2Fb/b-evt-3", token: w.b.token).object["status"] as? String == "active")
        },
        "POST /v1/features": { w async throws in
            let reply = try await w.server.call(.post, "/v1/features", token: w.a.token, json: ["key": "evil", "name": "Evil", "kind": "boolean"])
            #expect(reply.status == 403)
            #expect(try await w.server.call(.get, "/v1/features/evil", token: w.b.token).status == 404)
        },
        "GET /v1/features": { w async throws in
            // The catalog is platform-wide: both tenants read the same list, and it holds no tenant data.
            let a = try await w.server.call(.get, "/v1/features", token: w.a.token)
            #expect(a.status == 200)
            #expect(a.text == (try await w.server.call(.get, "/v1/features", token: w.b.token)).text)
            #expect(!a.text.contains(w.b.tenantID))
        },
        "GET /v1/features/{key}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/features/nope", token: w.a.token).status == 404)
        },
        "POST /v1/plans": { w async throws in
            #expect(try await w.server.call(.post, "/v1/plans", token: w.a.token, json: ["key": "evil", "name": "Evil"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/plans/evil", token: w.b.token).status == 404)
        },
        "GET /v1/plans": { w async throws in
            let a = try await w.server.call(.get, "/v1/plans", token: w.a.token)
            #expect(a.status == 200)
            #expect(a.text == (try await w.server.call(.get, "/v1/plans", token: w.b.token)).text)
            #expect(!a.text.contains(w.b.tenantID))
        },
        "GET /v1/plans/{key}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/plans/nope", token: w.a.token).status == 404)
            #expect(!(try await w.server.call(.get, "/v1/plans/b-plan", token: w.a.token)).text.contains(w.b.tenantID))
        },
        "PATCH /v1/plans/{key}": { w async throws in
            #expect(try await w.server.call(.patch, "/v1/plans/b-plan", token: w.a.token, json: ["name": "Hijacked"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/plans/b-plan", token: w.b.token).object["name"] as? String == "B plan")
        },
        "GET /v1/tenants/{id}/entitlements": { w async throws in
            #expect(try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)/entitlements", token: w.a.token).status == 403)
        },
        "PUT /v1/tenants/{id}/entitlements": { w async throws in
            #expect(try await w.server.call(.put, "/v1/tenants/\(w.b.tenantID)/entitlements", token: w.a.token, json: ["plan": NSNull()]).status == 403)
            #expect(try await w.server.call(.put, "/v1/tenants/\(w.a.tenantID)/entitlements", token: w.a.token, json: ["plan": "b-plan"]).status == 403)
            let b = try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)/entitlements", token: w.server.operatorToken)
            #expect(b.object["plan"] as? String == "b-plan")
        },
        "GET /v1/tenants/{id}/grants": { w async throws in
            #expect(try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)/grants", token: w.a.token).status == 403)
        },
        "POST /v1/tenants/{id}/grants": { w async throws in
            let grant: [String: Any] = ["feature": "b-calls", "amount": 1_000_000]
            #expect(try await w.server.call(.post, "/v1/tenants/\(w.a.tenantID)/grants", token: w.a.token, json: grant).status == 403)
            #expect(try await w.server.call(.get, "/v1/grants", token: w.a.token).items.isEmpty)
        },
        "POST /v1/tenants/{id}/grants/{grant_id}/void": { w async throws in
            let grants = try await w.server.call(.get, "/v1/grants", token: w.b.token).items
            let id = try #require(grants.first?["id"] as? String)
            #expect(try await w.server.call(.post, "/v1/tenants/\(w.b.tenantID)/grants/\(id)/void", token: w.a.token).status == 403)
            // The operator acting on A does not reach B's grant.
            #expect(try await w.server.call(.post, "/v1/tenants/\(w.a.tenantID)/grants/\(id)/void", token: w.server.operatorToken).status == 404)
            #expect(try await w.server.call(.get, "/v1/grants", token: w.b.token).items.first?["voided_at"] is NSNull)
        },
        "GET /v1/entitlements": { w async throws in
            let a = try await w.server.call(.get, "/v1/entitlements", token: w.a.token)
            #expect(a.status == 200)
            #expect(a.items.isEmpty)
            #expect(try await w.server.call(.get, "/v1/entitlements", token: w.b.token).items.count == 1)
        },
        "POST /v1/entitlements/check": { w async throws in
            let a = try await w.server.call(.post, "/v1/entitlements/check", token: w.a.token, json: ["feature": "b-calls", "amount": 1, "reserve": true])
            #expect(a.object["allowed"] as? Bool == false)
            #expect(a.object["reason"] as? String == "not_entitled")
            let b = try await w.server.call(.post, "/v1/entitlements/check", token: w.b.token, json: ["feature": "b-calls"])
            #expect(b.object["used"] as? String == "3")
        },
        "GET /v1/entitlements/notifications": { w async throws in
            #expect(try await w.server.call(.get, "/v1/entitlements/notifications", token: w.a.token).items.isEmpty)
            #expect(!(try await w.server.call(.get, "/v1/entitlements/notifications", token: w.b.token)).items.isEmpty)
        },
        "GET /v1/grants": { w async throws in
            let a = try await w.server.call(.get, "/v1/grants", token: w.a.token)
            #expect(a.status == 200)
            #expect(!a.text.contains("b-grant"))
        },
        "GET /v1/jobs": { w async throws in
            let a = try await w.server.call(.get, "/v1/jobs?tenant_id=\(w.b.tenantID)", token: w.a.token)
            #expect(a.status == 200)
            #expect(a.items.isEmpty && !a.text.contains(w.b.tenantID))
            #expect(try await w.server.call(.get, "/v1/jobs", token: w.b.token).items.contains { $0["kind"] as? String == "tally.noop" })
        },
        "POST /v1/jobs": { w async throws in
            #expect(try await w.server.call(.post, "/v1/jobs", token: w.a.token, json: ["kind": "tally.noop", "tenant_id": w.b.tenantID]).status == 403)
            #expect(try await w.server.call(.get, "/v1/jobs", token: w.b.token).items.filter { $0["kind"] as? String == "tally.noop" }.count == 1)
        },
        "GET /v1/jobs/stats": { w async throws in #expect(try await w.server.call(.get, "/v1/jobs/stats", token: w.a.token).status == 403) },
        "GET /v1/jobs/dead": { w async throws in #expect(try await w.server.call(.get, "/v1/jobs/dead", token: w.a.token).status == 403) },
        "POST /v1/jobs/dead/replay": { w async throws in
            #expect(try await w.server.call(.post, "/v1/jobs/dead/replay", token: w.a.token, json: ["all": true]).status == 403)
        },
        "POST /v1/jobs/dead/purge": { w async throws in
            #expect(try await w.server.call(.post, "/v1/jobs/dead/purge", token: w.a.token, json: ["all": true]).status == 403)
        },
        "GET /v1/jobs/{id}": { w async throws in
            let id = try #require(try await w.server.call(.get, "/v1/jobs", token: w.b.token).items.first { $0["kind"] as? String == "tally.noop" }?["id"] as? String)
            let reply = try await w.server.call(.get, "/v1/jobs/\(id)", token: w.a.token)
            #expect(reply.status == 404 && !reply.text.contains(w.b.tenantID))
        },
        "POST /v1/jobs/{id}/cancel": { w async throws in
            let id = try #require(try await w.server.call(.get, "/v1/jobs", token: w.b.token).items.first { $0["kind"] as? String == "tally.noop" }?["id"] as? String)
            #expect(try await w.server.call(.post, "/v1/jobs/\(id)/cancel", token: w.a.token).status == 403)
            #expect(try await w.server.call(.get, "/v1/jobs/\(id)", token: w.b.token).object["state"] as? String == "available")
        },
        "GET /v1/webhooks": { w async throws in
            let a = try await w.server.call(.get, "/v1/webhooks", token: w.a.token)
            #expect(a.status == 200 && a.items.isEmpty && !a.text.contains("b-hook"))
        },
        "POST /v1/webhooks": { w async throws in
            let created = try await w.server.call(.post, "/v1/webhooks", token: w.a.token, json: ["url": "http://127.0.0.1:9/a-hook"])
            #expect(created.status == 201 && created.object["tenant_id"] as? String == w.a.tenantID)
            #expect(try await w.server.call(.get, "/v1/webhooks", token: w.b.token).items.count == 1)
        },
        "GET /api/webhooks": { w async throws in
            let a = try await w.server.call(.get, "/api/webhooks", token: w.a.token)
            #expect(a.status == 200 && !a.text.contains("b-hook"))
        },
        "POST /api/webhooks": { w async throws in
            let created = try await w.server.call(.post, "/api/webhooks", token: w.a.token, json: ["url": "http://127.0.0.1:9/a-alias"])
            #expect(created.status == 201 && created.object["tenant_id"] as? String == w.a.tenantID)
        },
        "GET /v1/webhooks/{id}": { w async throws in
            let reply = try await w.server.call(.get, "/v1/webhooks/\(w.bWebhook)", token: w.a.token)
            #expect(reply.status == 404 && !reply.text.contains("b-hook"))
        },
        "PATCH /v1/webhooks/{id}": { w async throws in
            #expect(try await w.server.call(.patch, "/v1/webhooks/\(w.bWebhook)", token: w.a.token, json: ["url": "http://127.0.0.1:9/evil"]).status == 404)
            #expect(try await w.server.call(.get, "/v1/webhooks/\(w.bWebhook)", token: w.b.token).object["url"] as? String == "http://127.0.0.1:9/b-hook")
        },
        "DELETE /v1/webhooks/{id}": { w async throws in
            #expect(try await w.server.call(.delete, "/v1/webhooks/\(w.bWebhook)", token: w.a.token).status == 404)
            #expect(try await w.server.call(.get, "/v1/webhooks/\(w.bWebhook)", token: w.b.token).status == 200)
        },
        "POST /v1/webhooks/{id}/rotate-secret": { w async throws in
            let reply = try await w.server.call(.post, "/v1/webhooks/\(w.bWebhook)/rotate-secret", token: w.a.token)
            #expect(reply.status == 404 && !reply.text.contains("whsec_"))
        },
        "POST /v1/webhooks/{id}/test": { w async throws in
            #expect(try await w.server.call(.post, "/v1/webhooks/\(w.bWebhook)/test", token: w.a.token).status == 404)
        },
        "GET /v1/webhooks/{id}/deliveries": { w async throws in
            let reply = try await w.server.call(.get, "/v1/webhooks/\(w.bWebhook)/deliveries", token: w.a.token)
            #expect(reply.status == 404 && !reply.text.contains(w.bDelivery))
        },
        "POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry": { w async throws in
            #expect(try await w.server.call(.post, "/v1/webhooks/\(w.bWebhook)/deliveries/\(w.bDelivery)/retry", token: w.a.token).status == 404)
        },
        "POST /v1/webhooks/in/{source}": { w async throws in
            // No API key: the signature is the credential, and tenant keys grant nothing here.
            let reply = try await w.server.call(.post, "/v1/webhooks/in/test-source", token: w.a.token, json: ["x": 1])
            #expect(reply.status == 401 && reply.object["code"] as? String == "invalid_signature")
        },
        "POST /v1/events": { w async throws in
            try await TenantIsolationTests.postDoesNotReachB(w, path: "/v1/events", eventID: "b-evt-1")
        },
        "POST /api/usage": { w async throws in
            try await TenantIsolationTests.postDoesNotReachB(w, path: "/api/usage", eventID: "b-evt-2")
        },
        "GET /v1/plans/{key}/prices": { w async throws in
            // Prices are the platform's catalog, readable by every tenant; nothing of B's is in them.
            let reply = try await w.server.call(.get, "/v1/plans/b-plan/prices", token: w.a.token)
            #expect(reply.status == 200 && !reply.text.contains(w.b.tenantID))
        },
        "GET /v1/subscriptions": { w async throws in try await TenantIsolationTests.listHidesB(w, "/v1/subscriptions", w.bSubscription) },
        "GET /api/subscriptions": { w async throws in try await TenantIsolationTests.listHidesB(w, "/api/subscriptions", w.bSubscription) },
        "POST /v1/subscriptions": { w async throws in try await TenantIsolationTests.cannotSubscribeB(w, "/v1/subscriptions") },
        "POST /api/subscriptions": { w async throws in try await TenantIsolationTests.cannotSubscribeB(w, "/api/subscriptions") },
        "GET /v1/subscriptions/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/subscriptions/\(w.bSubscription)", token: w.a.token).status == 404)
        },
        "GET /api/subscriptions/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/api/subscriptions/\(w.bSubscription)", token: w.a.token).status == 404)
        },
        "POST /v1/subscriptions/{id}/credits": { w async throws in
            #expect(try await w.server.call(.post, "/v1/subscriptions/\(w.bSubscription)/credits", token: w.a.token, json: ["amount": "5.00", "reason": "x"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/subscriptions/\(w.bSubscription)/audit", token: w.b.token).items.allSatisfy { $0["action"] as? String != "credit_granted" })
        },
        "GET /v1/subscriptions/{id}/audit": { w async throws in
            #expect(try await w.server.call(.get, "/v1/subscriptions/\(w.bSubscription)/audit", token: w.a.token).status == 404)
        },
        "POST /v1/subscriptions/{id}/change-plan": { w async throws in
            #expect(try await w.server.call(.post, "/v1/subscriptions/\(w.bSubscription)/change-plan", token: w.a.token, json: ["plan": "b-plan", "at": "now"]).status == 404)
            #expect(try await w.server.call(.get, "/v1/subscriptions/\(w.bSubscription)", token: w.b.token).object["revision"] as? Int == 2)
        },
        "POST /v1/subscriptions/{id}/cancel": { w async throws in
            #expect(try await w.server.call(.post, "/v1/subscriptions/\(w.bSubscription)/cancel", token: w.a.token, json: ["at": "now"]).status == 404)
            #expect(try await w.server.call(.get, "/v1/subscriptions/\(w.bSubscription)", token: w.b.token).object["state"] as? String == "active")
        },
        "GET /v1/invoices": { w async throws in try await TenantIsolationTests.listHidesB(w, "/v1/invoices", w.bInvoice) },
        "GET /api/invoices": { w async throws in try await TenantIsolationTests.listHidesB(w, "/api/invoices", w.bInvoice) },
        "GET /v1/invoices/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)", token: w.a.token).status == 404)
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)?format=html", token: w.a.token).status == 404)
        },
        "GET /api/invoices/{id}": { w async throws in
            #expect(try await w.server.call(.get, "/api/invoices/\(w.bInvoice)", token: w.a.token).status == 404)
        },
        "GET /v1/invoices/{id}/audit": { w async throws in
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)/audit", token: w.a.token).status == 404)
        },
        "GET /v1/invoices/{id}/credit-notes": { w async throws in
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)/credit-notes", token: w.a.token).status == 404)
        },
        "POST /v1/invoices/{id}/credit-notes": { w async throws in
            #expect(try await w.server.call(.post, "/v1/invoices/\(w.bInvoice)/credit-notes", token: w.a.token, json: ["amount": "1.00", "reason": "x"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)", token: w.b.token).object["credited"] as? String == "0.00")
        },
        "POST /v1/invoices/{id}/mark-paid": { w async throws in
            #expect(try await w.server.call(.post, "/v1/invoices/\(w.bInvoice)/mark-paid", token: w.a.token).status == 403)
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)", token: w.b.token).object["status"] as? String == "open")
        },
        "POST /v1/invoices/{id}/void": { w async throws in
            #expect(try await w.server.call(.post, "/v1/invoices/\(w.bInvoice)/void", token: w.a.token).status == 403)
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)", token: w.b.token).object["status"] as? String == "open")
        },
        "GET /v1/tenants/{id}/billing": { w async throws in
            #expect(try await w.server.call(.get, "/v1/tenants/\(w.b.tenantID)/billing", token: w.a.token).status == 403)
        },
        "PUT /v1/tenants/{id}/billing": { w async throws in
            #expect(try await w.server.call(.put, "/v1/tenants/\(w.b.tenantID)/billing", token: w.a.token, json: ["tax_rate": "0"]).status == 403)
            #expect(try await w.server.call(.get, "/v1/billing/account", token: w.b.token).object["tax_rate"] as? String == "7.00")
        },
        "GET /v1/billing/account": { w async throws in
            #expect(try await w.server.call(.get, "/v1/billing/account", token: w.a.token).object["tax_rate"] as? String == "0.00")
        },
        "POST /v1/billing/runs": { w async throws in
            #expect(try await w.server.call(.post, "/v1/billing/runs", token: w.a.token).status == 403)
        },
        "POST /v1/billing/payments/callback": { w async throws in
            // No API key: the provider's signature is the credential; the manual provider takes none.
            let reply = try await w.server.call(.post, "/v1/billing/payments/callback", token: w.a.token, json: ["invoice_id": w.bInvoice, "status": "succeeded"])
            #expect(reply.status == 404)
            #expect(try await w.server.call(.get, "/v1/invoices/\(w.bInvoice)", token: w.b.token).object["status"] as? String == "open")
        },
    ]

    static var range: String {
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        return "from=\(RFC3339.format(microseconds: now - 3_600_000_000))&to=\(RFC3339.format(microseconds: now + 3_600_000_000))"
    }

    static func listHidesB(_ w: World, _ path: String, _ bID: String) async throws {
        let reply = try await w.server.call(.get, path, token: w.a.token)
        #expect(reply.status == 200)
        #expect(!reply.text.contains(bID) && !reply.text.contains(w.b.tenantID))
        let filtered = try await w.server.call(.get, path + "?tenant_id=\(w.b.tenantID)", token: w.a.token)
        #expect(!filtered.text.contains(bID))
    }

    static func cannotSubscribeB(_ w: World, _ path: String) async throws {
        let reply = try await w.server.call(.post, path, token: w.a.token, json: ["plan": "b-plan", "tenant_id": w.b.tenantID])
        #expect(reply.status == 422 && reply.object["field"] as? String == "tenant_id")
        #expect(try await w.server.call(.get, "/v1/subscriptions", token: w.b.token).items.count == 1)
    }

    /// A's event of B's type, with B's event id, lands in A's ledger and leaves B's meter as it was.
    static func postDoesNotReachB(_ w: World, path: String, eventID: String) async throws {
        let range = range  // one range for both reads: the body echoes it
        let before = try await w.server.call(.get, "/v1/usage?\(range)", token: w.b.token).text
        let event: [String: Any] = ["specversion": "1.0", "id": eventID, "source": "//b", "type": "b.event"]
        let posted = try await w.server.call(.post, path, token: w.a.token, json: event)
        #expect(posted.status == 200)
        #expect((posted.object["results"] as? [[String: Any]])?.first?["status"] as? String == "accepted")
        #expect(try await w.server.call(.get, "/v1/usage?\(range)", token: w.b.token).text == before)
    }

    /// Writes an open invoice for the subscription's current period through the store (no
    /// waiting for the period to end).
    static func issueInvoice(_ server: TestServer, tenant: String, subscription: String) async throws -> String {
        let tenantID = try #require(TenantID(tenant))
        let subscriptionID = try #require(SubscriptionID(subscription))
        let scope = TenantScope(operatorActingOn: tenantID)
        let store = server.backend.billing
        let current = try #require(try await store.subscription(subscriptionID, in: scope))
        let usd = try #require(Currency("USD"))
        let draft = try InvoiceDraft(currency: usd, lines: [.init(kind: .charge, description: "Fee", amount: Money(minorUnits: 900, currency: usd))])
        var invoice = Invoice(id: .generate(), tenantID: scope.tenantID, subscriptionID: current.id, status: .draft, plan: current.plan,
                              periodStart: current.periodStart, periodEnd: current.periodEnd, draft: draft, createdAt: current.periodStart, finalizeAt: current.periodEnd)
        #expect(try await store.recordPeriod(subscription: current, expectedRevision: current.revision, invoice: invoice, consumedLines: [], newPendingLines: [], audit: [], in: scope))
        invoice.status = .open
        _ = try #require(try await store.finalize(invoice, expectedRevision: 1, prefix: "INV", year: 2026, carry: [], audit: [], in: scope))
        return invoice.id.rawValue
    }

    @Test(arguments: TestBackend.available)
    func tenantAKeySeesNothingOfTenantB(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let a = try await server.makeTenant("tenant-a")
            let b = try await server.makeTenant("tenant-b")
            let identity = try await server.call(.post, "/v1/service-identities", token: b.token, json: ["name": "b-robot"])
            let bIdentity = try #require(identity.object["id"] as? String)
            for slug in ["b-meter", "b-only"] {
                _ = try await server.call(.post, "/v1/meters", token: b.token, json: ["slug": slug, "event_type": "b.event", "aggregation": "COUNT"])
            }
            // B's entitlements: a soft limit of 2 (plus a grant of 1) that B's three events cross.
            let op = server.operatorToken
            #expect(try await server.call(.post, "/v1/features", token: op, json: ["key": "b-calls", "name": "B calls", "kind": "metered", "meter": "b-meter"]).status == 201)
            let plan: [String: Any] = ["key": "b-plan", "name": "B plan", "entitlements": ["b-calls": ["limit": 2, "enforcement": "soft"]]]
            #expect(try await server.call(.post, "/v1/plans", token: op, json: plan).status == 201)
            #expect(try await server.call(.put, "/v1/tenants/\(b.tenantID)/entitlements", token: op, json: ["plan": "b-plan"]).status == 200)
            let grant: [String: Any] = ["feature": "b-calls", "amount": 1, "reason": "b-grant"]
            #expect(try await server.call(.post, "/v1/tenants/\(b.tenantID)/grants", token: op, json: grant).status == 201)
            for id in ["b-evt-1", "b-evt-2", "b-evt-3"] {
                let bEvent: [String: Any] = ["specversion": "1.0", "id": id, "source": "//b", "type": "b.event"]
                #expect(try await server.call(.post, "/v1/events", token: b.token, json: bEvent).status == 200)
            }
            let job = try await server.call(.post, "/v1/jobs", token: op, json: ["kind": "tally.noop", "tenant_id": b.tenantID, "args": ["b": true]])
            #expect(job.status == 201)
            let hook = try await server.call(.post, "/v1/webhooks", token: b.token, json: ["url": "http://127.0.0.1:9/b-hook", "description": "b-hook"])
            let bWebhook = try #require(hook.object["id"] as? String, "\(hook.text)")
            let sent = try await server.call(.post, "/v1/webhooks/\(bWebhook)/test", token: b.token)
            let bDelivery = try #require(sent.object["id"] as? String, "\(sent.text)")
            // B's billing: a subscription with one issued invoice, and a tax rate.
            let prices: [String: Any] = ["interval": "month", "currency": "USD", "charges": [["type": "flat", "amount": "9.00"]]]
            #expect(try await server.call(.patch, "/v1/plans/b-plan", token: op, json: ["prices": prices]).status == 200)
            #expect(try await server.call(.put, "/v1/tenants/\(b.tenantID)/billing", token: op, json: ["tax_rate": "7"]).status == 200)
            let subscribed = try await server.call(.post, "/v1/subscriptions", token: b.token, json: ["plan": "b-plan"])
            let bSubscription = try #require(subscribed.object["id"] as? String, "\(subscribed.text)")
            let bInvoice = try await Self.issueInvoice(server, tenant: b.tenantID, subscription: bSubscription)
            let me = try await server.call(.get, "/v1/me", token: server.operatorToken)
            let world = World(
                server: server, a: a, b: b, bIdentity: bIdentity, operatorKeyID: try #require(me.object["api_key_id"] as? String),
                bWebhook: bWebhook, bDelivery: bDelivery, bSubscription: bSubscription, bInvoice: bInvoice
            )

            let routes = Set(server.routes.filter { $0.contains(" /v1/") || $0.contains(" /api/") })
            let unprobed = routes.subtracting(Self.probes.keys)
            #expect(unprobed.isEmpty, "routes without an isolation probe: \(unprobed.sorted())")
            for route in routes.sorted() {
                try await Self.probes[route]?(world)
            }
        }
    }
}
