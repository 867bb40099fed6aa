import Billing
import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Platform

/// Subscriptions (`/v1/subscriptions`), invoices (`/v1/invoices`), tenants' billing settings
/// (`/v1/tenants/{id}/billing`, `/v1/billing/account`), on-demand billing runs
/// (`/v1/billing/runs`) and the payment provider's callback (`/v1/billing/payments/callback`).
///
/// Operators see and manage every tenant's (naming the tenant in the body or a `tenant_id`
/// filter); a tenant key reads its own with `billing:read` and subscribes, changes plan and
/// cancels with `billing:write`. Marking paid, voiding and credit notes are operators' alone.
struct BillingRoutes {
    let billing: BillingService
    let invoices: InvoiceService
    let run: BillingRun
    let platform: Platform
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        // Subscriptions.
        group.post("subscriptions") { request, context in try await createSubscription(request, context) }
        group.get("subscriptions") { request, context in try await listSubscriptions(request, context) }
        group.get("subscriptions/:id") { _, context in try await getSubscription(context) }
        group.post("subscriptions/:id/change-plan") { request, context in
            let (scope, actor) = try Self.writer(context)
            let id = try context.identifier("id", as: SubscriptionKind.self, what: "subscription")
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await billing.changePlan(id, body, in: scope, actor: actor).json)
        }
        group.post("subscriptions/:id/cancel") { request, context in
            let (scope, actor) = try Self.writer(context)
            let id = try context.identifier("id", as: SubscriptionKind.self, what: "subscription")
            let body = try await JSONBody.optionalValue(from: request, limit: bodyLimit) ?? .null
            return JSONBody.response(json: try await billing.cancel(id, body, in: scope, actor: actor).json)
        }
        group.post("subscriptions/:id/credits") { request, context in
            let actor = try Self.operatorActor(context)
            let id = try context.identifier("id", as: SubscriptionKind.self, what: "subscription")
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await billing.addCredit(id, body, in: nil, actor: actor), status: .created)
        }
        group.get("subscriptions/:id/audit") { _, context in
            let scope = try Self.reader(context)
            let id = try context.identifier("id", as: SubscriptionKind.self, what: "subscription")
            _ = try await billing.subscription(id, in: scope)
            return JSONBody.response(json: JSONBody.list(try await billing.audit(of: id.rawValue, in: scope).map(\.json)))
        }

        // Invoices.
        group.get("invoices") { request, context in try await listInvoices(request, context) }
        group.get("invoices/:id") { request, context in try await getInvoice(request, context) }
        group.post("invoices/:id/mark-paid") { request, context in
            let actor = try Self.operatorActor(context)
            let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
            let fields = try await Self.fields(request, allowed: ["reference"], limit: bodyLimit)
            return JSONBody.response(json: try await invoices.markPaid(id, reference: try Self.text(fields, "reference"), in: nil, actor: actor).json)
        }
        group.post("invoices/:id/void") { request, context in
            let actor = try Self.operatorActor(context)
            let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
            let fields = try await Self.fields(request, allowed: ["reason"], limit: bodyLimit)
            return JSONBody.response(json: try await invoices.void(id, reason: try Self.text(fields, "reason"), in: nil, actor: actor).json)
        }
        group.post("invoices/:id/credit-notes") { request, context in
            let actor = try Self.operatorActor(context)
            let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await invoices.creditNote(id, body, in: nil, actor: actor).json, status: .created)
        }
        group.get("invoices/:id/credit-notes") { _, context in
            let scope = try Self.reader(context)
            let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
            return JSONBody.response(json: JSONBody.list(try await invoices.creditNotes(of: id, in: scope).map(\.json)))
        }
        group.get("invoices/:id/audit") { _, context in
            let scope = try Self.reader(context)
            let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
            _ = try await invoices.invoice(id, in: scope)
            return JSONBody.response(json: JSONBody.list(try await billing.audit(of: id.rawValue, in: scope).map(\.json)))
        }

        // Billing settings and runs.
        group.get("tenants/:id/billing") { _, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            return JSONBody.response(json: try await billing.account(in: scope).json)
        }
        group.put("tenants/:id/billing") { request, context in
            let scope = try context.operatorScope()
            _ = try await platform.tenants.get(scope.tenantID)
            let body = try await JSONBody.value(from: request, limit: bodyLimit)
            return JSONBody.response(json: try await billing.setAccount(body, in: scope).json)
        }
        group.get("billing/account") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.billingRead)
            return JSONBody.response(json: try await billing.account(in: scope).json)
        }
        group.post("billing/runs") { _, context in
            try context.requirePrincipal().requireOperator()
            return JSONBody.response(json: try await run.run().json)
        }
    }

    /// The brief's `/api/subscriptions` and `/api/invoices`: the same handlers.
    func registerAliases(on group: RouterGroup<TallyRequestContext>) {
        group.post("subscriptions") { request, context in try await createSubscription(request, context) }
        group.get("subscriptions") { request, context in try await listSubscriptions(request, context) }
        group.get("subscriptions/:id") { _, context in try await getSubscription(context) }
        group.get("invoices") { request, context in try await listInvoices(request, context) }
        group.get("invoices/:id") { request, context in try await getInvoice(request, context) }
    }

    /// The payment provider's signed callback; unauthenticated (the signature is the credential).
    func registerCallback(on router: Router<TallyRequestContext>, provider: any PaymentProvider) {
        router.post("v1/billing/payments/callback") { request, _ in
            let body = try await request.body.collect(upTo: bodyLimit)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let event = try provider.parseCallback(headers: headers, body: Array(buffer: body), nowSeconds: invoices.nowSeconds)
            try await invoices.apply(event)
            return JSONBody.response(json: .object(["status": "accepted"]))
        }
    }

    // MARK: Handlers shared with the aliases

    private func createSubscription(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await JSONBody.value(from: request, limit: bodyLimit)
        let scope: TenantScope
        let actor: String
        if principal.tenantScope != nil {
            scope = try principal.requireTenant(.billingWrite)
            if case .object(let fields) = body, let given = fields["tenant_id"], given != .string(scope.tenantID.rawValue) {
                throw TallyError.validation("tenant_id", "a tenant key subscribes its own tenant; leave tenant_id out")
            }
            actor = "api:\(principal.keyID)"
        } else {
            try principal.requireOperator()
            guard case .object(let fields) = body, case .string(let text)? = fields["tenant_id"] else {
                throw TallyError.validation("tenant_id", "operators name the tenant to subscribe: tenant_id")
            }
            guard let tenant = TenantID(text) else { throw TallyError.validation("tenant_id", "tenant_id is a tenant id (ten_…)") }
            _ = try await platform.tenants.get(tenant)
            scope = TenantScope(operatorActingOn: tenant)
            actor = "operator:\(principal.keyID)"
        }
        let subscription = try await billing.create(try BillingService.CreateRequest.parse(body), in: scope, actor: actor)
        return JSONBody.response(json: subscription.json, status: .created)
    }

    private func listSubscriptions(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try Self.listScope(request, context)
        let page = try request.pageRequest()
        let before = try Self.cursor(page, as: SubscriptionKind.self)
        let found = try await billing.subscriptions(in: scope, limit: page.limit + 1, before: before)
        return Self.page(found.prefix(page.limit).map(\.json), more: found.count > page.limit, last: found.prefix(page.limit).last?.id.rawValue)
    }

    private func getSubscription(_ context: TallyRequestContext) async throws -> Response {
        let scope = try Self.reader(context)
        let id = try context.identifier("id", as: SubscriptionKind.self, what: "subscription")
        return JSONBody.response(json: try await billing.subscription(id, in: scope).json)
    }

    private func listInvoices(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try Self.listScope(request, context)
        let page = try request.pageRequest()
        let before = try Self.cursor(page, as: InvoiceKind.self)
        var status: Invoice.Status?
        if let text = request.uri.queryParameters["status"].map(String.init) {
            guard let parsed = Invoice.Status(rawValue: text) else {
                throw TallyError(.invalidParameter, "status is one of \(Invoice.Status.allCases.map(\.rawValue).joined(separator: ", "))", field: "status")
            }
            status = parsed
        }
        var subscription: SubscriptionID?
        if let text = request.uri.queryParameters["subscription_id"].map(String.init) {
            guard let id = SubscriptionID(text) else { throw TallyError(.invalidParameter, "subscription_id is a subscription id (sub_…)", field: "subscription_id") }
            subscription = id
        }
        let found = try await invoices.invoices(in: scope, status: status, subscription: subscription, limit: page.limit + 1, before: before)
        return Self.page(found.prefix(page.limit).map(\.json), more: found.count > page.limit, last: found.prefix(page.limit).last?.id.rawValue)
    }

    /// JSON, or the printable page for `Accept: text/html` or `?format=html`.
    private func getInvoice(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try Self.reader(context)
        let id = try context.identifier("id", as: InvoiceKind.self, what: "invoice")
        let invoice = try await invoices.invoice(id, in: scope)
        let format = request.uri.queryParameters["format"].map(String.init)
        if let format, format != "html", format != "json" { throw TallyError(.invalidParameter, "format is json or html", field: "format") }
        let wantsHTML = format == "html" || (format == nil && (request.headers[.accept] ?? "").contains("text/html"))
        guard wantsHTML else { return JSONBody.response(json: invoice.json) }
        let tenant = try await platform.tenants.get(invoice.tenantID)
        let html = InvoicePage.html(invoice, creditNotes: try await invoices.creditNotes(of: id, in: scope), tenantName: tenant.name)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Access

    /// `nil` (every tenant) for operators; the tenant for keys with `billing:read`.
    static func reader(_ context: TallyRequestContext) throws -> TenantScope? {
        let principal = try context.requirePrincipal()
        guard principal.tenantScope != nil else {
            try principal.requireOperator()
            return nil
        }
        return try principal.requireTenant(.billingRead)
    }

    /// A list's scope: a tenant's own; an operator's every tenant or the `tenant_id` filter.
    static func listScope(_ request: Request, _ context: TallyRequestContext) throws -> TenantScope? {
        if let scope = try reader(context) { return scope }
        guard let text = request.uri.queryParameters["tenant_id"].map(String.init) else { return nil }
        guard let tenant = TenantID(text) else { throw TallyError(.invalidParameter, "tenant_id is a tenant id (ten_…)", field: "tenant_id") }
        return TenantScope(operatorActingOn: tenant)
    }

    /// The scope and audit actor of a subscription write: `nil` scope for operators.
    static func writer(_ context: TallyRequestContext) throws -> (TenantScope?, String) {
        let principal = try context.requirePrincipal()
        guard principal.tenantScope != nil else {
            try principal.requireOperator()
            return (nil, "operator:\(principal.keyID)")
        }
        return (try principal.requireTenant(.billingWrite), "api:\(principal.keyID)")
    }

    static func operatorActor(_ context: TallyRequestContext) throws -> String {
        let principal = try context.requirePrincipal()
        try principal.requireOperator()
        return "operator:\(principal.keyID)"
    }

    // MARK: Bodies and pages

    static func fields(_ request: Request, allowed: [String], limit: Int) async throws -> [String: JSONValue] {
        switch try await JSONBody.optionalValue(from: request, limit: limit) ?? .null {
        case .null: return [:]
        case .object(let fields):
            if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw TallyError.validation(unknown, "unknown member; this takes \(allowed.joined(separator: ", "))")
            }
            return fields
        default: throw TallyError.validation("", "the body must be a JSON object")
        }
    }

    static func text(_ fields: [String: JSONValue], _ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let text)? where !text.isEmpty && text.count <= 500: return text
        default: throw TallyError.validation(key, "\(key) is a string of 1 to 500 characters")
        }
    }

    /// The page's `after` cursor as an id of the listed kind (`400` for anything else).
    static func cursor<Kind: IdentifierKind>(_ page: PageRequest, as _: Kind.Type) throws -> Identifier<Kind>? {
        try page.after.map { text in
            guard let id = Identifier<Kind>(text) else { throw TallyError(.invalidParameter, "after must be a cursor from next_cursor", field: "after") }
            return id
        }
    }

    static func page(_ items: [JSONValue], more: Bool, last: String?) -> Response {
        JSONBody.response(json: .object(["data": .array(items), "has_more": .bool(more), "next_cursor": more ? last.map(JSONValue.string) ?? .null : .null]))
    }

}
