import Core
import Hummingbird
import Platform

/// `/v1/webhooks`: a tenant's outbound webhook endpoints (`webhooks:read` / `webhooks:write`),
/// their delivery logs, test messages, secret rotation and retries; the brief's `/api/webhooks`
/// aliases; and `POST /v1/webhooks/in/{source}`, where other systems send Tally signed webhooks.
struct WebhookRoutes {
    let webhooks: WebhookService
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("webhooks") { request, context in try await create(request, context) }
        group.get("webhooks") { _, context in try await list(context) }
        group.get("webhooks/:id") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksRead)
            let endpoint = try await webhooks.get(try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint"), in: scope)
            return JSONBody.response(json: WebhookService.json(endpoint, nowMillis: webhooks.nowMillis))
        }
        group.patch("webhooks/:id") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
            let id = try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint")
            let input = try Self.input(try await JSONBody.value(from: request, limit: bodyLimit), creating: false)
            return JSONBody.response(json: WebhookService.json(try await webhooks.update(id, input, in: scope), nowMillis: webhooks.nowMillis))
        }
        group.delete("webhooks/:id") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
            try await webhooks.delete(try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint"), in: scope)
            return Response(status: .noContent)
        }
        group.post("webhooks/:id/rotate-secret") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
            let id = try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint")
            // The body is optional: none (or empty) generates a secret; {"secret": "whsec_…"} sets one.
            var secret: String?
            if let value = try await JSONBody.optionalValue(from: request, limit: bodyLimit) {
                guard case .object(let fields) = value else { throw TallyError.validation("", "the body must be a JSON object") }
                for (name, value) in fields {
                    switch (name, value) {
                    case ("secret", .string(let text)): secret = text
                    case ("secret", .null): break
                    default: throw TallyError.validation(name, name == "secret" ? "secret must be a string" : "unknown field '\(name)'")
                    }
                }
            }
            let endpoint = try await webhooks.rotateSecret(id, secret: secret, in: scope)
            return JSONBody.response(json: WebhookService.json(endpoint, nowMillis: webhooks.nowMillis, includeSecret: true))
        }
        group.post("webhooks/:id/test") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
            let delivery = try await webhooks.sendTest(try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint"), in: scope)
            return JSONBody.response(json: WebhookService.json(delivery), status: .accepted)
        }
        group.get("webhooks/:id/deliveries") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksRead)
            let id = try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint")
            let page = try request.pageRequest()
            var before: WebhookMessageID?
            if let cursor = page.after {
                guard let parsed = WebhookMessageID(cursor) else { throw TallyError(.invalidParameter, "after must be a cursor from next_cursor", field: "after") }
                before = parsed
            }
            let found = try await webhooks.deliveries(of: id, in: scope, limit: page.limit + 1, before: before)
            let items = Array(found.prefix(page.limit))
            let next: JSONValue = found.count > page.limit ? items.last.map { .string($0.id.rawValue) } ?? .null : .null
            return JSONBody.response(json: .object(["data": .array(items.map(WebhookService.json)), "has_more": .bool(next != .null), "next_cursor": next]))
        }
        group.post("webhooks/:id/deliveries/:delivery_id/retry") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
            let endpoint = try context.identifier("id", as: WebhookEndpointKind.self, what: "webhook endpoint")
            let id = try context.identifier("delivery_id", as: WebhookMessageKind.self, what: "webhook delivery")
            guard try await webhooks.delivery(id, in: scope).endpoint == endpoint else { throw TallyError.notFound("webhook delivery") }
            return JSONBody.response(json: WebhookService.json(try await webhooks.retry(id, in: scope)), status: .accepted)
        }
    }

    /// The brief's `/api/webhooks` names.
    func registerAliases(on group: RouterGroup<TallyRequestContext>) {
        group.post("webhooks") { request, context in try await create(request, context) }
        group.get("webhooks") { _, context in try await list(context) }
    }

    private func create(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.webhooksWrite)
        let input = try Self.input(try await JSONBody.value(from: request, limit: bodyLimit), creating: true)
        let endpoint = try await webhooks.create(input, in: scope)
        return JSONBody.response(json: WebhookService.json(endpoint, nowMillis: webhooks.nowMillis, includeSecret: true), status: .created)
    }

    private func list(_ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.webhooksRead)
        let endpoints = try await webhooks.list(in: scope)
        let now = webhooks.nowMillis
        return JSONBody.response(json: .object([
            "data": .array(endpoints.map { WebhookService.json($0, nowMillis: now) }), "has_more": .bool(false), "next_cursor": .null,
        ]))
    }

    /// Reads `url`, `description`, `event_types`, `secret` (create only) and `enabled`.
    static func input(_ body: JSONValue, creating: Bool) throws -> WebhookService.EndpointInput {
        guard case .object(let fields) = body else { throw TallyError.validation("", "the body must be a JSON object") }
        var input = WebhookService.EndpointInput()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            switch (name, value) {
            case ("url", .string(let text)): input.url = text
            case ("description", .string(let text)): input.description = text
            case ("secret", .string(let text)) where creating: input.secret = text
            case ("enabled", .bool(let flag)): input.enabled = flag
            case ("event_types", .array(let items)):
                input.eventTypes = try items.map { item in
                    guard case .string(let type) = item else { throw TallyError.validation("event_types", "event_types must be an array of strings") }
                    return type
                }
            case ("description", .null): break
            case ("secret", .null) where creating: break
            case ("url", _), ("description", _), ("enabled", _), ("event_types", _): throw TallyError.validation(name, "\(name) has the wrong type")
            case ("secret", _):
                throw TallyError.validation("secret", creating ? "secret must be a string" : "rotate the secret with POST /v1/webhooks/{id}/rotate-secret")
            default: throw TallyError.validation(name, "unknown field '\(name)'")
            }
        }
        if creating && input.url == nil { throw TallyError.validation("url", "url is required") }
        return input
    }
}
