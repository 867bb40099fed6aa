import Core
import HTTPTypes
import Hummingbird
import Platform
import Storage

/// `/v1/tenants`: operators manage tenants; a tenant key may read its own tenant.
struct TenantRoutes {
    let platform: Platform
    let bodyLimit: Int

    struct TenantPatch: Decodable {
        var name: String?
        var status: TenantStatus?
        var settings: [String: JSONValue]?
    }

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.get("tenants") { request, context in
            try context.requirePrincipal().requireOperator()
            return try JSONBody.response(ListBody(try await platform.tenants.list(try request.pageRequest())))
        }
        group.post("tenants") { request, context in
            try context.requirePrincipal().requireOperator()
            let input = try await JSONBody.decode(NewTenant.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.tenants.create(input), status: .created)
        }
        group.get("tenants/:id") { _, context in
            let principal = try context.requirePrincipal()
            let id = try context.identifier("id", as: TenantKind.self, what: "tenant")
            if let own = principal.tenantScope {
                // A tenant key sees its own tenant and nothing else: another id is simply not found.
                guard own.tenantID == id else { throw TallyError.notFound("tenant") }
                _ = try principal.requireTenant(.tenantRead)
            }
            return try JSONBody.response(try await platform.tenants.get(id))
        }
        group.patch("tenants/:id") { request, context in
            try context.requirePrincipal().requireOperator()
            let id = try context.identifier("id", as: TenantKind.self, what: "tenant")
            let patch = try await JSONBody.decode(TenantPatch.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.tenants.update(id, TenantChange(name: patch.name, status: patch.status, settings: patch.settings)))
        }

        // Operators manage any tenant's keys through the tenant's path.
        group.get("tenants/:id/api-keys") { request, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            return try JSONBody.response(ListBody(try await platform.apiKeys.list(in: scope, try request.pageRequest())))
        }
        group.post("tenants/:id/api-keys") { request, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            let input = try await JSONBody.decode(NewAPIKey.self, from: request, limit: bodyLimit)
            let issued = try await platform.apiKeys.createTenantKey(in: scope, input, grantor: context.principal)
            return try JSONBody.response(issued, status: .created)
        }
        group.post("tenants/:id/api-keys/:key_id/revoke") { _, context in
            let scope = try context.operatorScope()
            let keyID = try context.identifier("key_id", as: APIKeyKind.self, what: "API key")
            return try JSONBody.response(try await platform.apiKeys.revoke(keyID, in: scope))
        }
    }
}
