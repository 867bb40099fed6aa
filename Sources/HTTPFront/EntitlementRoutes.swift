import Billing
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
        // Plans: operators write, any reader of the feature catalog reads. A plan's `prices`
        // (billing) are versioned beside it: a new or changed `prices` makes a new version.
        group.post("plans") { request, context in
            try context.requirePrincipal().requireOperator()
            var body = try await JSONBody.value(from: request, limit: bodyLimit)
            let prices = try Self.takePrices(&body)
            var parsed: PricePlan?
            if let prices {
                guard let billing = platform.billing else { throw TallyError.validation("prices", "billing is not available on this server") }
                guard case .object(let fields) = body, case .string(let key)? = fields["key"] else { throw TallyError.validation("key", "key is required: 2-63 characters of a-z, 0-9, '-' and '_'") }
                var name: String?
                if case .string(let text)? = fields["name"] { name = text }
                parsed = try billing.parsePrices(prices, key: key, name: name)
            }
            let plan = try await entitlements.createPlan(body)
            var stored: PricePlan?
            if let parsed, let billing = platform.billing { stored = try await billing.addPrices(parsed).plan }
            return JSONBody.response(json: Self.withPrices(plan.json, stored), status: .created)
        }
        group.get("plans") { _, context in
            try FeatureRoutes.requireReader(context)
            let prices = try await platform.billing?.latestPrices() ?? []
            let byKey = Dictionary(prices.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            return JSONBody.response(json: JSONBody.list(try await entitlements.plans().map { Self.withPrices($0.json, byKey[$0.key]) }))
        }
        group.get("plans/:key") { _, context in
            try FeatureRoutes.requireReader(context)
            let key = try Self.key(context)
            let plan = try await entitlements.plan(key)
            return JSONBody.response(json: Self.withPrices(plan.json, try await platform.billing?.prices(of: key)))
        }
        group.get("plans/:key/prices") { _, context in
            try FeatureRoutes.requireReader(context)
            let key = try Self.key(context)
            _ = try await entitlements.plan(key)
            return JSONBody.response(json: JSONBody.list(try await platform.billing?.priceVersions(of: key).map(\.json) ?? []))
        }
        group.patch("plans/:key") { request, context in
            try context.requirePrincipal().requireOperator()
            let key = try Self.key(context)
            var body = try await JSONBody.value(from: request, limit: bodyLimit)
            let prices = try Self.takePrices(&body)
            var parsed: PricePlan?
            if let prices {
                guard let billing = platform.billing else { throw TallyError.validation("prices", "billing is not available on this server") }
                var name: String?
                if case .object(let fields) = body, case .string(let text)? = fields["name"] { name = text }
                if name == nil { name = try await entitlements.plan(key).name }
                parsed = try billing.parsePrices(prices, key: key, name: name)
            }
            let plan: Plan
            if prices != nil, case .object(let fields) = body, fields.isEmpty {
                plan = try await entitlements.plan(key)
            } else {
                plan = try await entitlements.updatePlan(key, body)
            }
            var stored = try await platform.billing?.prices(of: key)
            if let parsed, let billing = platform.billing { stored = try await billing.addPrices(parsed).plan }
            return JSONBody.response(json: Self.withPrices(plan.json, stored))
        }

        // A tenant's assignment and grants, through the tenant's path (operators).
        group.get("tenants/:id/entitlements") { _, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            return JSONBody.response(json: try await assignmentBody(scope))
        }
        group.put("tenants/:id/entitlements") { request, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            _ = try await entitlements.assign(body, in: scope)
            return JSONBody.response(json: try await assignmentBody(scope))
        }
        group.get("tenants/:id/grants") { _, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            return JSONBody.response(json: JSONBody.list(try await entitlements.grants(in: scope).map(\.json)))
        }
        group.post("tenants/:id/grants") { request, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await entitlements.createGrant(try GrantRequest.parse(body), in: scope).json, status: .created)
        }
        group.post("tenants/:id/grants/:grant_id/void") { _, context in
            let scope = try context.operatorScope()
            guard let id = context.parameters.get("grant_id") else { throw TallyError.notFound("grant") }
            return JSONBody.response(json: try await entitlements.voidGrant(id, in: scope).json)
        }

        // The caller's own tenant.
        group.get("entitlements") { _, context in
            let scope = try Self.tenantScope(context)
            return JSONBody.response(json: JSONBody.list(try await entitlements.entitlements(in: scope).map(\.json)))
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
            return JSONBody.response(json: JSONBody.list(try await entitlements.notifications(in: scope).map(\.json)))
        }
        group.get("grants") { _, context in
            let scope = try Self.tenantScope(context)
            return JSONBody.response(json: JSONBody.list(try await entitlements.grants(in: scope).map(\.json)))
        }
    }

    private func assignmentBody(_ scope: TenantScope) async throws -> JSONValue {
        guard case .object(var object) = try await entitlements.assignment(in: scope).json else { return .null }
        object["entitlements"] = .array(try await entitlements.entitlements(in: scope).map(\.json))
        return .object(object)
    }

    static func tenantScope(_ context: TallyRequestContext) throws -> TenantScope {
        try context.requirePrincipal().requireTenant(.usageRead)
    }

    static func key(_ context: TallyRequestContext) throws -> String {
        guard let key = context.parameters.get("key") else { throw TallyError.notFound("plan") }
        return key
    }

    /// Removes and answers a plan body's `prices` member (billing), leaving the entitlement plan.
    static func takePrices(_ body: inout JSONValue) throws -> JSONValue? {
        guard case .object(var fields) = body, let prices = fields.removeValue(forKey: "prices") else { return nil }
        body = .object(fields)
        return prices == .null ? nil : prices
    }

    /// A plan with its current prices (`null` for a plan without).
    static func withPrices(_ plan: JSONValue, _ prices: PricePlan?) -> JSONValue {
        guard case .object(var fields) = plan else { return plan }
        fields["prices"] = prices?.json ?? .null
        return .object(fields)
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
