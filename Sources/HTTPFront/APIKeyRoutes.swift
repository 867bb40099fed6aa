import Core
import HTTPTypes
import Hummingbird
import Platform

/// `/v1/api-keys` (a tenant's own keys) and `/v1/operator/api-keys` (operator keys).
struct APIKeyRoutes {
    let platform: Platform
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.get("api-keys") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.keysRead)
            return try JSONBody.response(ListBody(try await platform.apiKeys.list(in: scope, try request.pageRequest())))
        }
        group.post("api-keys") { request, context in
            let principal = try context.requirePrincipal()
            let scope = try principal.requireTenant(.keysWrite)
            let input = try await JSONBody.decode(NewAPIKey.self, from: request, limit: bodyLimit)
            let issued = try await platform.apiKeys.createTenantKey(in: scope, input, grantor: principal)
            return try JSONBody.response(issued, status: .created)
        }
        group.get("api-keys/:id") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.keysRead)
            let id = try context.identifier("id", as: APIKeyKind.self, what: "API key")
            return try JSONBody.response(try await platform.apiKeys.get(id, in: scope))
        }
        group.post("api-keys/:id/revoke") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.keysWrite)
            let id = try context.identifier("id", as: APIKeyKind.self, what: "API key")
            return try JSONBody.response(try await platform.apiKeys.revoke(id, in: scope))
        }

        group.get("operator/api-keys") { request, context in
            try context.requirePrincipal().requireOperator()
            return try JSONBody.response(ListBody(try await platform.apiKeys.listOperatorKeys(try request.pageRequest())))
        }
        group.post("operator/api-keys") { request, context in
            try context.requirePrincipal().requireOperator()
            struct Input: Decodable { var name: String }
            let input = try await JSONBody.decode(Input.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.apiKeys.createOperatorKey(name: input.name), status: .created)
        }
        group.post("operator/api-keys/:id/revoke") { _, context in
            let principal = try context.requirePrincipal()
            try principal.requireOperator()
            let id = try context.identifier("id", as: APIKeyKind.self, what: "API key")
            return try JSONBody.response(try await platform.apiKeys.revoke(id, in: nil))
        }

        group.get("me") { _, context in
            let principal = try context.requirePrincipal()
            return try JSONBody.response(MeBody(principal))
        }
    }
}

/// What `GET /v1/me` says about the caller.
struct MeBody: Encodable {
    let keyID: String
    let kind: String
    let tenantID: String?
    let serviceIdentityID: String?
    let scopes: [String]

    init(_ principal: Principal) {
        keyID = principal.keyID.rawValue
        tenantID = principal.tenantScope?.tenantID.rawValue
        kind = tenantID == nil ? "operator" : "tenant"
        serviceIdentityID = principal.serviceIdentityID?.rawValue
        scopes = principal.scopes.sorted().map(\.rawValue)
    }

    enum CodingKeys: String, CodingKey {
        case keyID = "api_key_id", kind, tenantID = "tenant_id", serviceIdentityID = "service_identity_id", scopes
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(kind, forKey: .kind)
        try c.encode(tenantID, forKey: .tenantID)
        try c.encode(serviceIdentityID, forKey: .serviceIdentityID)
        try c.encode(scopes, forKey: .scopes)
    }
}
