import Core
import Hummingbird
import Platform
import Scheduler
import Storage

/// `/v1/jobs`: background jobs and the dead-letter queue. Operators see and manage every job;
/// a tenant key with `tenant:read` lists and reads its own tenant's jobs only.
struct JobRoutes {
    let jobs: JobService
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("jobs") { request, context in
            try context.requirePrincipal().requireOperator()
            let (job, inserted) = try await jobs.enqueue(try jobs.spec(from: try await JSONBody.value(from: request, limit: bodyLimit)))
            return JSONBody.response(json: JobService.json(job), status: inserted ? .created : .ok)
        }
        group.get("jobs") { request, context in
            let tenant = try Self.reader(context)
            var filter = try jobs.filter(Self.parameters(request))
            if let tenant { filter.tenant = tenant }
            return try await list(request, filter)
        }
        group.get("jobs/stats") { _, context in
            try context.requirePrincipal().requireOperator()
            let counts = try await jobs.counts()
            return JSONBody.response(json: .object(["data": .array(counts.map { count in
                .object(["queue": .string(count.queue), "state": .string(count.state.rawValue), "count": .number(Double(count.count))])
            })]))
        }
        group.get("jobs/dead") { request, context in
            try context.requirePrincipal().requireOperator()
            var filter = try jobs.filter(Self.parameters(request))
            filter.states = [.dead]
            return try await list(request, filter)
        }
        group.post("jobs/dead/replay") { request, context in
            try context.requirePrincipal().requireOperator()
            let filter = try await deadFilter(request)
            return JSONBody.response(json: .object(["replayed": .number(Double(try await jobs.replay(filter)))]))
        }
        group.post("jobs/dead/purge") { request, context in
            try context.requirePrincipal().requireOperator()
            let filter = try await deadFilter(request)
            return JSONBody.response(json: .object(["purged": .number(Double(try await jobs.purge(filter)))]))
        }
        group.get("jobs/:id") { _, context in
            let tenant = try Self.reader(context)
            let id = try context.identifier("id", as: JobKind.self, what: "job")
            return JSONBody.response(json: JobService.json(try await jobs.get(id, tenant: tenant)))
        }
        group.post("jobs/:id/cancel") { _, context in
            try context.requirePrincipal().requireOperator()
            let id = try context.identifier("id", as: JobKind.self, what: "job")
            return JSONBody.response(json: JobService.json(try await jobs.cancel(id, tenant: nil)))
        }
    }

    /// `nil` for operators; the tenant for tenant keys with `tenant:read`.
    static func reader(_ context: TallyRequestContext) throws -> TenantID? {
        let principal = try context.requirePrincipal()
        guard principal.tenantScope != nil else {
            try principal.requireOperator()
            return nil
        }
        return try principal.requireTenant(.tenantRead).tenantID
    }

    static func parameters(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for name in ["state", "queue", "kind", "tenant_id", "older_than", "id"] {
            if let value = request.uri.queryParameters[Substring(name)] { out[name] = String(value) }
        }
        return out
    }

    private func list(_ request: Request, _ filter: JobFilter) async throws -> Response {
        let page = try request.pageRequest()
        var after: JobID?
        if let cursor = page.after {
            guard let id = JobID(cursor) else { throw TallyError(.invalidParameter, "after must be a cursor from next_cursor", field: "after") }
            after = id
        }
        let (found, next) = try await jobs.list(filter, limit: page.limit, after: after)
        return JSONBody.response(json: .object([
            "data": .array(found.map(JobService.json)), "has_more": .bool(next != nil), "next_cursor": next.map { .string($0.rawValue) } ?? .null,
        ]))
    }

    /// A replay or purge body: `queue`, `kind`, `tenant_id`, `older_than` (seconds), `ids`,
    /// or `"all": true`; an empty filter is refused so nobody empties the queue by accident.
    private func deadFilter(_ request: Request) async throws -> JobFilter {
        guard case .object(let fields) = try await JSONBody.value(from: request, limit: bodyLimit) else {
            throw TallyError.validation("", "the body must be a JSON object")
        }
        var parameters: [String: String] = [:]
        var all = false
        for (name, value) in fields {
            switch (name, value) {
            case ("all", .bool(let flag)): all = flag
            case ("queue", .string(let text)), ("kind", .string(let text)), ("tenant_id", .string(let text)): parameters[name] = text
            case ("older_than", .number(let seconds)) where seconds >= 0 && seconds == seconds.rounded(): parameters[name] = String(Int64(seconds))
            case ("ids", .array(let items)):
                let ids = items.compactMap { item -> String? in if case .string(let text) = item { return text } else { return nil } }
                guard ids.count == items.count, !ids.isEmpty else { throw TallyError.validation("ids", "ids must be a non-empty array of job ids") }
                parameters["id"] = ids.joined(separator: ",")
            case ("all", _), ("queue", _), ("kind", _), ("tenant_id", _), ("older_than", _), ("ids", _):
                throw TallyError.validation(name, "\(name) has the wrong type")
            default:
                throw TallyError.validation(name, "unknown field '\(name)'")
            }
        }
        guard all || !parameters.isEmpty else {
            throw TallyError.validation("all", "name the dead jobs (queue, kind, tenant_id, older_than, ids) or send \"all\": true")
        }
        do {
            return try jobs.filter(parameters, states: [.dead])
        } catch let error as TallyError {
            throw TallyError(.validationFailed, error.detail, field: error.field == "id" ? "ids" : error.field)
        }
    }
}
