import Core
import Entitlements
import Hummingbird
import Platform

/// `/v1/features`: the feature catalog. Operators define features; any key with `tenant:read`
/// reads the catalog (it is platform-wide, not tenant data).
struct FeatureRoutes {
    let features: FeatureService
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("features") { request, context in
            try context.requirePrincipal().requireOperator()
            let feature = try await JSONBody.decode(Feature.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await features.create(feature), status: .created)
        }
        group.get("features") { _, context in
            try Self.requireReader(context)
            return try JSONBody.response(ListBody(Page(items: try await features.list(), nextCursor: nil)))
        }
        group.get("features/:key") { _, context in
            try Self.requireReader(context)
            guard let key = context.parameters.get("key") else { throw TallyError.notFound("feature") }
            return try JSONBody.response(try await features.get(key))
        }
    }

    /// Operators, and tenant keys with `tenant:read`.
    static func requireReader(_ context: TallyRequestContext) throws {
        let principal = try context.requirePrincipal()
        if principal.tenantScope != nil { _ = try principal.requireTenant(.tenantRead) }
    }
}
