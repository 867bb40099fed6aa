import Core
import Metering
import Scheduler
import Storage

/// Background jobs as operators (and tenants, for their own jobs) see them: enqueue, list,
/// inspect, cancel, and the dead-letter queue's replay and purge. The HTTP routes and
/// `tally jobs` / `tally dlq` share it.
public struct JobService: Sendable {
    let queue: any JobQueue
    let store: any PlatformStore
    let clock: any TallyClock

    public init(queue: any JobQueue, store: any PlatformStore, clock: any TallyClock) {
        self.queue = queue
        self.store = store
        self.clock = clock
    }

    var nowMillis: Int64 { clock.nowMillis }

    /// Validates and enqueues one job; `inserted == false` when its unique key was taken.
    public func enqueue(_ spec: JobSpec) async throws -> (job: JobRecord, inserted: Bool) {
        let spec = try spec.validated()
        if let tenant = spec.tenant, try await store.tenant(id: tenant) == nil {
            throw TallyError.validation("tenant_id", "no tenant has the id \(tenant.rawValue)")
        }
        guard let result = try await queue.enqueue([spec], nowMillis: nowMillis).first else {
            throw TallyError(.internalError, "the queue answered no job")
        }
        guard let job = try await queue.job(result.id) else { throw TallyError.notFound("job") }
        return (job, result.inserted)
    }

    /// Validates and enqueues many jobs in batches of 5,000; answers how many were new.
    public func enqueueMany(_ specs: [JobSpec]) async throws -> Int {
        let specs = try specs.map { try $0.validated() }
        for tenant in Set(specs.compactMap(\.tenant)) where try await store.tenant(id: tenant) == nil {
            throw TallyError.validation("tenant_id", "no tenant has the id \(tenant.rawValue)")
        }
        var inserted = 0
        for start in stride(from: 0, to: specs.count, by: 5_000) {
            inserted += try await queue.enqueue(Array(specs[start..<min(start + 5_000, specs.count)]), nowMillis: nowMillis).filter(\.inserted).count
        }
        return inserted
    }

    /// One job; `not_found` when it does not exist or (for a tenant) is not the tenant's.
    public func get(_ id: JobID, tenant: TenantID?) async throws -> JobRecord {
        guard let job = try await queue.job(id), tenant == nil || job.spec.tenant == tenant else { throw TallyError.notFound("job") }
        return job
    }

    /// A page of jobs matching the filter, by id.
    public func list(_ filter: JobFilter, limit: Int, after: JobID?) async throws -> (jobs: [JobRecord], next: JobID?) {
        let jobs = try await queue.jobs(filter, limit: limit + 1, after: after)
        let page = Array(jobs.prefix(limit))
        return (page, jobs.count > limit ? page.last?.id : nil)
    }

    /// Cancels an unfinished job; a finished one comes back unchanged.
    public func cancel(_ id: JobID, tenant: TenantID?) async throws -> JobRecord {
        guard let job = try await queue.cancel(id, tenant: tenant, nowMillis: nowMillis) else { throw TallyError.notFound("job") }
        return job
    }

    /// Replays dead jobs matching the filter; answers how many.
    public func replay(_ filter: JobFilter) async throws -> Int {
        try await queue.replay(filter, nowMillis: nowMillis)
    }

    /// Deletes dead jobs matching the filter, in batches until none match; answers how many.
    public func purge(_ filter: JobFilter) async throws -> Int {
        var dead = filter
        dead.states = [.dead]
        var total = 0
        while true {
            let deleted = try await queue.purge(dead, limit: 5_000)
            total += deleted
            if deleted < 5_000 { return total }
        }
    }

    /// Jobs per queue and state.
    public func counts() async throws -> [JobCount] {
        try await queue.counts()
    }

    /// A filter from query-style parameters: `state` (comma-separated), `queue`, `kind`,
    /// `tenant_id`, `older_than` (seconds since the job last changed), `id` (comma-separated).
    /// Errors name the parameter.
    public func filter(_ parameters: [String: String], states defaultStates: [JobState] = []) throws -> JobFilter {
        var filter = JobFilter(states: defaultStates)
        if let states = parameters["state"], !states.isEmpty {
            filter.states = try states.split(separator: ",").map { name in
                guard let state = JobState(rawValue: String(name)) else {
                    throw TallyError(.invalidParameter, "state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
                }
                return state
            }
        }
        for (name, keyPath) in [("queue", \JobFilter.queue), ("kind", \JobFilter.kind)] {
            if let value = parameters[name], !value.isEmpty {
                guard value.utf8.count <= 128 else { throw TallyError(.invalidParameter, "\(name) is at most 128 characters", field: name) }
                filter[keyPath: keyPath] = value
            }
        }
        if let tenant = parameters["tenant_id"], !tenant.isEmpty {
            guard let id = TenantID(tenant) else { throw TallyError(.invalidParameter, "tenant_id must be a ten_… identifier", field: "tenant_id") }
            filter.tenant = id
        }
        if let olderThan = parameters["older_than"], !olderThan.isEmpty {
            guard let seconds = Int64(olderThan), seconds >= 0, seconds <= 3_153_600_000 else {
                throw TallyError(.invalidParameter, "older_than must be a whole number of seconds", field: "older_than")
            }
            filter.changedBeforeMillis = nowMillis - seconds * 1_000
        }
        if let ids = parameters["id"], !ids.isEmpty {
            filter.ids = try ids.split(separator: ",").map { text in
                guard let id = JobID(String(text)) else { throw TallyError(.invalidParameter, "id must be job_… identifiers", field: "id") }
                return id
            }
        }
        return filter
    }

    /// A job as the API shows it.
    public static func json(_ job: JobRecord) -> JSONValue {
        let time = RFC3339.json(millis:)
        return .object([
            "id": .string(job.id.rawValue),
            "kind": .string(job.spec.kind),
            "queue": .string(job.spec.queue),
            "tenant_id": job.spec.tenant.map { .string($0.rawValue) } ?? .null,
            "args": (try? JSONParser.parse(job.spec.args.utf8)) ?? .object([:]),
            "priority": .number(Double(job.spec.priority)),
            "state": .string(job.state.rawValue),
            "attempt": .number(Double(job.attempt)),
            "max_attempts": .number(Double(job.spec.maxAttempts)),
            "run_at": time(job.runAtMillis),
            "unique_key": job.spec.uniqueKey.map { .string($0) } ?? .null,
            "errors": .array(job.errors.map { error in
                .object(["attempt": .number(Double(error.attempt)), "at": time(error.atMillis), "message": .string(error.message)])
            }),
            "created_at": time(job.createdAtMillis),
            "updated_at": time(job.updatedAtMillis),
            "finalized_at": time(job.finalizedAtMillis),
        ])
    }

    /// Reads an enqueue request body: `kind` (required), `queue`, `tenant_id`, `args` (an
    /// object), `priority`, `run_at` (RFC 3339), `max_attempts`, `unique_key`,
    /// `unique_period_seconds`.
    public func spec(from body: JSONValue) throws -> JobSpec {
        guard case .object(let fields) = body else { throw TallyError(.validationFailed, "the body must be a JSON object", field: "") }
        func string(_ name: String) throws -> String? {
            switch fields[name] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw TallyError.validation(name, "\(name) must be a string")
            }
        }
        func integer(_ name: String) throws -> Int? {
            switch fields[name] {
            case nil, .null?: return nil
            case .number(let value)? where value == value.rounded() && abs(value) < 1e15: return Int(value)
            default: throw TallyError.validation(name, "\(name) must be a whole number")
            }
        }
        let known: Set<String> = ["kind", "queue", "tenant_id", "args", "priority", "run_at", "max_attempts", "unique_key", "unique_period_seconds"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw TallyError.validation(unknown, "unknown field '\(unknown)'")
        }
        guard let kind = try string("kind") else { throw TallyError.validation("kind", "kind is required") }
        var spec = JobSpec(kind: kind)
        if let queue = try string("queue") { spec.queue = queue }
        if let tenant = try string("tenant_id") {
            guard let id = TenantID(tenant) else { throw TallyError.validation("tenant_id", "tenant_id must be a ten_… identifier") }
            spec.tenant = id
        }
        switch fields["args"] {
        case nil, .null?: break
        case .object(let args)?: spec.args = String(decoding: JSONWriter.encode(.object(args)), as: UTF8.self)
        default: throw TallyError.validation("args", "args must be a JSON object")
        }
        if let priority = try integer("priority") { spec.priority = priority }
        if let attempts = try integer("max_attempts") { spec.maxAttempts = attempts }
        if let runAt = try string("run_at") {
            guard let micros = RFC3339.microseconds(runAt) else { throw TallyError.validation("run_at", "run_at must be an RFC 3339 time") }
            spec.runAtMillis = micros / 1_000
        }
        let period = try integer("unique_period_seconds")
        if let key = try string("unique_key") {
            if let period, period <= 0 { throw TallyError.validation("unique_period_seconds", "unique_period_seconds must be positive") }
            spec.uniqueKey = JobSpec.uniqueKey(kind: kind, key: key, periodSeconds: period.map(Int64.init), nowMillis: nowMillis)
        } else if period != nil {
            throw TallyError.validation("unique_period_seconds", "unique_period_seconds needs unique_key")
        }
        return spec
    }
}
