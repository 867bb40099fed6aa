import Core
import Entitlements
import Hummingbird
import Metering
import Platform

/// Plans (`/v1/plans`), tenants' entitlements and grants (`/v1/tenants/{id}/entitlements`,
/// `/v1/tenants/{id}/grants`, operators), and the tenant's own view and checks
/// (`/v1/entitlements`, `/v1/entitlements/check`, `/v1/grants`, with `usage:read`).
struct EntitlementRoutes {
    let entitlements: EntitlementService
    let platform: Platform
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        // Plans: operators write, any reader of the feature catalog reads.
        group.post("plans") { request, context in
            try context.requirePrincipal().requireOperator()
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await entitlements.createPlan(body).json, status: .created)
        }
        group.get("plans") { _, context in
            try FeatureRoutes.requireReader(context)
            return JSONBody.response(json: Self.list(try await entitlements.plans().map(\.json)))
        }
        group.get("plans/:key") { _, context in
            try FeatureRoutes.requireReader(context)
            return JSONBody.response(json: try await entitlements.plan(try Self.key(context)).json)
        }
        group.patch("plans/:key") { request, context in
            try context.requirePrincipal().requireOperator()
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await entitlements.updatePlan(try Self.key(context), body).json)
        }

        // A tenant's assignment and grants, through the tenant's path (operators).
        group.get("tenants/:id/entitlements") { _, context in
            let scope = try operatorScope(context)
            _ = try await platform.tenants.get(scope.tenantID)
            return JSONBody.response(json: try await assignmentBody(scope))
        }
        group.put("tenants/:id/entitlements") { request, context in
            let scope = try operatorScope(context)
            _ = try await platform.tenants.get(scope.tenantID)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            _ = try await entitlements.assign(body, in: scope)
            return JSONBody.response(json: try await assignmentBody(scope))
        }
        group.get("tenants/:id/grants") { _, context in
            let scope = try operatorScope(context)
            _ = try await platform.tenants.get(scope.tenantID)
            return JSONBody.response(json: Self.list(try await entitlements.grants(in: scope).map(\.json)))
        }
        group.post("tenants/:id/grants") { request, context in
            let scope = try operatorScope(context)
            _ = try await platform.tenants.get(scope.tenantID)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await entitlements.createGrant(try GrantRequest.parse(body), in: scope).json, status: .created)
        }
        group.post("tenants/:id/grants/:grant_id/void") { _, context in
            let scope = try operatorScope(context)
            guard let id = context.parameters.get("grant_id") else { throw TallyError.notFound("grant") }
            return JSONBody.response(json: try await entitlements.voidGrant(id, in: scope).json)
        }

        // The caller's own tenant.
        group.get("entitlements") { _, context in
            let scope = try Self.tenantScope(context)
            return JSONBody.response(json: Self.list(try await entitlements.entitlements(in: scope).map(\.json)))
        }
        group.post("entitlements/check") { request, context in
            let scope = try Self.tenantScope(context)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            let check = try CheckRequest.parse(body)
            let answer = try await entitlements.check(check.feature, amount: check.amount, reserveSeconds: check.reserveSeconds, in: scope)
            return JSONBody.response(bytes: answer.jsonBytes())
        }
        group.get("entitlements/notifications") { _, context in
            let scope = try Self.tenantScope(context)
            return JSONBody.response(json: Self.list(try await entitlements.notifications(in: scope).map(\.json)))
        }
        group.get("grants") { _, context in
            let scope = try Self.tenantScope(context)
            return JSONBody.response(json: Self.list(try await entitlements.grants(in: scope).map(\.json)))
        }
    }

    private func assignmentBody(_ scope: TenantScope) async throws -> JSONValue {
        guard case .object(var object) = try await entitlements.assignment(in: scope).json else { return .null }
        object["entitlements"] = .array(try await entitlements.entitlements(in: scope).map(\.json))
        return .object(object)
    }

    private func operatorScope(_ context: TallyRequestContext) throws -> TenantScope {
        try context.requirePrincipal().requireOperator()
        return TenantScope(operatorActingOn: try context.identifier("id", as: TenantKind.self, what: "tenant"))
    }

    static func tenantScope(_ context: TallyRequestContext) throws -> TenantScope {
        try context.requirePrincipal().requireTenant(.usageRead)
    }

    static func key(_ context: TallyRequestContext) throws -> String {
        guard let key = context.parameters.get("key") else { throw TallyError.notFound("plan") }
        return key
    }

    static func list(_ items: [JSONValue]) -> JSONValue {
        ["data": .array(items), "has_more": false, "next_cursor": nil]
    }
}

/// `POST /v1/entitlements/check`: `{"feature": "api-calls", "amount": 5, "reserve": true, "reserve_seconds": 60}`.
/// Without `amount` the check asks whether any is left; with it, whether that much fits; with
/// `reserve`, that much is also held.
struct CheckRequest {
    var feature: String
    var amount: Quantity
    var reserveSeconds: Int64?

    static func parse(_ json: JSONValue) throws(TallyError) -> CheckRequest {
        guard case .object(let members) = json else { throw .validation("", "the body must be a JSON object") }
        try EntitlementSpec.only(["feature", "amount", "reserve", "reserve_seconds"], in: members, field: "")
        guard case .string(let feature)? = members["feature"] else { throw .validation("feature", "feature is required: a feature key") }
        var request = CheckRequest(feature: feature, amount: .zero)
        switch members["amount"] {
        case nil, .null?: break
        case let value?:
            guard let amount = Quantity(json: value), amount >= .zero else {
                throw .validation("amount", "amount must be an exact number (or a decimal string) at least 0")
            }
            request.amount = amount
        }
        var reserve = false
        switch members["reserve"] {
        case nil, .null?: break
        case .bool(let flag)?: reserve = flag
        default: throw .validation("reserve", "reserve must be true or false")
        }
        switch members["reserve_seconds"] {
        case nil, .null?: break
        case .number(let seconds)? where seconds == seconds.rounded() && seconds >= 1 && seconds <= Double(EntitlementService.maxReservationSeconds):
            guard reserve else { throw .validation("reserve_seconds", "reserve_seconds applies only with reserve: true") }
            request.reserveSeconds = Int64(seconds)
        default: throw .validation("reserve_seconds", "reserve_seconds must be a whole number in 1...\(EntitlementService.maxReservationSeconds)")
        }
        if reserve {
            guard request.amount > .zero else { throw .validation("amount", "a reservation needs an amount above 0") }
            request.reserveSeconds = request.reserveSeconds ?? EntitlementService.defaultReservationSeconds
        }
        return request
    }
}
