import Core
import HTTPTypes
import Hummingbird
import Platform

/// `/v1/service-identities`: a tenant's non-human principals.
struct ServiceIdentityRoutes {
    let platform: Platform
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.get("service-identities") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.keysRead)
            return try JSONBody.response(ListBody(try await platform.serviceIdentities.list(in: scope, try request.pageRequest())))
        }
        group.post("service-identities") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.keysWrite)
            let input = try await JSONBody.decode(NewServiceIdentity.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.serviceIdentities.create(in: scope, input), status: .created)
        }
        group.get("service-identities/:id") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.keysRead)
            let id = try context.identifier("id", as: ServiceIdentityKind.self, what: "service identity")
            return try JSONBody.response(try await platform.serviceIdentities.get(id, in: scope))
        }
        group.post("service-identities/:id/disable") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.keysWrite)
            let id = try context.identifier("id", as: ServiceIdentityKind.self, what: "service identity")
            return try JSONBody.response(try await platform.serviceIdentities.disable(id, in: scope))
        }
    }
}
