import Core
import Logging
import PostgresNIO
import Scheduler

/// The production job queue: `background_jobs` in PostgreSQL is the durable record (the
/// outbox); Redis dispatches (`RedisJobScripts` documents its keys). Every change writes
/// PostgreSQL first and Redis second, so a crash between the two leaves Redis behind, never
/// ahead: the reconciler re-dispatches what Redis lost, and the worst case is a job run twice
/// (delivery is at least once), never a job lost. A worker's completion or failure is first
/// checked against Redis (does it still hold the job at that attempt?), so a worker whose job
/// was rescued from under it cannot finish it in PostgreSQL either.
public struct RedisJobQueue: JobQueue {
    let rows: PostgresJobStore
    let redis: RedisClient
    let prefix: String

    public init(client: PostgresClient, redis: RedisClient, logger: Logger, prefix: String = "tally:jobs:") {
        self.rows = PostgresJobStore(client: client, logger: logger)
        self.redis = redis
        self.prefix = prefix
    }

    /// Inserts job rows on a connection inside the caller's transaction (the outbox); after
    /// the commit, pass the ids to `dispatch` (or leave them to the reconciler).
    public static func insert(_ specs: [JobSpec], on connection: PostgresConnection, nowMillis: Int64, logger: Logger) async throws -> [EnqueuedJob] {
        try await PostgresJobStore.insert(specs, on: connection, nowMillis: nowMillis, logger: logger).map(\.0)
    }

    // MARK: Producing

    public func enqueue(_ specs: [JobSpec], nowMillis: Int64) async throws -> [EnqueuedJob] {
        let results = try await rows.insert(specs, nowMillis: nowMillis)
        let fresh = results.filter(\.0.inserted).map(\.1)
        try await send(fresh, mode: "ensure", nowMillis: nowMillis)
        return results.map(\.0)
    }

    public func dispatch(_ ids: [JobID], nowMillis: Int64) async throws {
        guard !ids.isEmpty else { return }
        try await send(try await rows.stillUnfinished(ids.map(\.rawValue)), mode: "ensure", nowMillis: nowMillis)
    }

    /// Creates the jobs in Redis (those it does not hold yet), in script calls of 1,000.
    private func send(_ jobs: [JobRecord], mode: String, nowMillis: Int64) async throws {
        for start in stride(from: 0, to: jobs.count, by: 1_000) {
            var arguments = [prefix, String(nowMillis), mode]
            arguments.reserveCapacity(3 + 11 * min(1_000, jobs.count - start))
            for job in jobs[start..<min(start + 1_000, jobs.count)] {
                arguments += [
                    job.id.rawValue, job.spec.queue, job.spec.kind, job.spec.tenant?.rawValue ?? "", String(job.spec.priority), job.spec.args,
                    String(job.attempt), String(job.spec.maxAttempts), String(job.runAtMillis), String(job.createdAtMillis), job.state.rawValue,
                ]
            }
            _ = try await RedisJobScripts.dispatch.evaluate(on: redis, arguments)
        }
    }

    // MARK: Working

    public func fetch(queue: String, limit: Int, worker: String, nowMillis: Int64, visibilityMillis: Int64) async throws -> [JobRecord] {
        guard limit > 0 else { return [] }
        let reply = try await RedisJobScripts.fetch.evaluate(
            on: redis, [prefix, queue, String(limit), worker, String(nowMillis), String(nowMillis + visibilityMillis)]
        )
        let values = reply.array ?? []
        var jobs: [JobRecord] = []
        jobs.reserveCapacity(values.count / 9)
        for start in stride(from: 0, to: values.count - 8, by: 9) {
            let field = { (offset: Int) in values[start + offset].string ?? "" }
            jobs.append(try Self.record(id: field(0), queue: queue, attempt: field(1), kind: field(2), tenant: field(3), priority: field(4),
                                        args: field(5), maxAttempts: field(6), runAt: field(7), createdAt: field(8), state: .running, nowMillis: nowMillis))
        }
        return jobs
    }

    public func takeStarts(queue: String, want: Int, perSecond: Int, nowMillis: Int64) async throws -> (granted: Int, retryAfterMillis: Int64) {
        let reply = try await RedisJobScripts.takeStarts.evaluate(on: redis, [prefix, queue, String(want), String(perSecond), String(nowMillis)])
        guard let values = reply.array, values.count == 2, let granted = values[0].int, let retry = values[1].int else {
            throw RedisError(.reply, "unexpected reply from the rate script: \(reply)")
        }
        return (granted, Int64(retry))
    }

    public func waitForWork(queue: String, timeoutMillis: Int, nowMillis: Int64) async throws {
        // BLPOP's timeout is in seconds (fractions allowed); it must end inside the command timeout.
        let seconds = Double(min(max(timeoutMillis, 10), 1_500)) / 1_000
        _ = try await redis.pipeline([["BLPOP", "\(prefix)q:\(queue):signal", String(seconds)]])
    }

    public func heartbeat(_ leases: [JobLease], nowMillis: Int64, visibilityMillis: Int64) async throws -> Set<JobID> {
        guard !leases.isEmpty else { return [] }
        var arguments = [prefix, String(nowMillis + visibilityMillis)]
        for lease in leases { arguments += [lease.queue, lease.id.rawValue, String(lease.attempt)] }
        let reply = try await RedisJobScripts.heartbeat.evaluate(on: redis, arguments)
        return Set((reply.array ?? []).compactMap { $0.string.map(JobID.init(trusted:)) })
    }

    /// The leases Redis says are still held.
    private func holding(_ leases: [JobLease]) async throws -> [JobLease] {
        guard !leases.isEmpty else { return [] }
        var arguments = [prefix]
        arguments.reserveCapacity(1 + 3 * leases.count)
        for lease in leases { arguments += [lease.queue, lease.id.rawValue, String(lease.attempt)] }
        let held = Set((try await RedisJobScripts.holding.evaluate(on: redis, arguments).array ?? []).compactMap(\.string))
        return leases.filter { held.contains($0.id.rawValue) }
    }

    public func complete(_ leases: [JobLease], nowMillis: Int64) async throws {
        let leases = try await holding(leases)
        guard !leases.isEmpty else { return }
        try await rows.complete(leases, nowMillis: nowMillis)
        var arguments = [prefix]
        arguments.reserveCapacity(1 + 3 * leases.count)
        for lease in leases { arguments += [lease.queue, lease.id.rawValue, String(lease.attempt)] }
        _ = try await RedisJobScripts.complete.evaluate(on: redis, arguments)
    }

    public func fail(_ reports: [JobFailureReport], nowMillis: Int64) async throws {
        let held = Set(try await holding(reports.map(\.lease)))
        let reports = reports.filter { held.contains($0.lease) }
        guard !reports.isEmpty else { return }
        try await rows.fail(reports, nowMillis: nowMillis)
        var arguments = [prefix, String(nowMillis)]
        for report in reports {
            guard let state = JobStateMachine.next(from: .running, on: report.decision.event) else { continue }
            arguments += [report.lease.queue, report.lease.id.rawValue, String(report.lease.attempt), state.rawValue,
                          String(report.decision.runAtMillis ?? nowMillis), String(report.decision.attempt)]
        }
        _ = try await RedisJobScripts.move.evaluate(on: redis, arguments)
    }

    public func release(_ leases: [JobLease], nowMillis: Int64) async throws {
        guard !leases.isEmpty else { return }
        var arguments = [prefix, String(nowMillis)]
        for lease in leases {
            arguments += [lease.queue, lease.id.rawValue, String(lease.attempt), JobState.available.rawValue, String(nowMillis), String(lease.attempt - 1)]
        }
        _ = try await RedisJobScripts.move.evaluate(on: redis, arguments)
    }

    public func claimLapsed(nowMillis: Int64, limit: Int, claimMillis: Int64) async throws -> [JobRecord] {
        let reply = try await RedisJobScripts.claimLapsed.evaluate(on: redis, [prefix, String(nowMillis), String(limit), String(nowMillis + claimMillis)])
        let values = reply.array ?? []
        var jobs: [JobRecord] = []
        for start in stride(from: 0, to: values.count - 9, by: 10) {
            let field = { (offset: Int) in values[start + offset].string ?? "" }
            jobs.append(try Self.record(id: field(0), queue: field(1), attempt: field(2), kind: field(3), tenant: field(4), priority: field(5),
                                        args: field(6), maxAttempts: field(7), runAt: field(8), createdAt: field(9), state: .running, nowMillis: nowMillis))
        }
        return jobs
    }

    public func reconcile(nowMillis: Int64, graceMillis: Int64) async throws -> Int {
        // A missing epoch means Redis lost everything (FLUSHALL, a restart without persistence):
        // then every unfinished job is checked at once, whatever its age.
        let epochKey = prefix + "epoch"
        let flushed = try await redis.send("GET", epochKey) == .null
        var restored = 0
        var cursor = ""
        while true {
            let page = try await rows.unfinished(after: cursor, beforeMillis: flushed ? nil : nowMillis - graceMillis, limit: 1_000)
            guard let last = page.last else { break }
            cursor = last.id.rawValue
            let missing = try await RedisJobScripts.missing.evaluate(on: redis, [prefix] + page.map(\.id.rawValue))
            let ids = (missing.array ?? []).compactMap(\.string)
            guard !ids.isEmpty else { continue }
            // Read again: a job that completed since the page was read (PostgreSQL first, then
            // Redis forgets it) must not be sent again.
            let lost = try await rows.stillUnfinished(ids)
            try await send(lost, mode: "ensure", nowMillis: nowMillis)
            restored += lost.count
        }
        if flushed { try await redis.send("SET", epochKey, String(nowMillis)) }
        return restored
    }

    // MARK: Administering

    public func job(_ id: JobID) async throws -> JobRecord? {
        guard var job = try await rows.job(id) else { return nil }
        guard !job.state.isFinal else { return job }
        // The live state (running, and the attempt it is on) is in Redis.
        let live = try await redis.pipeline([["HMGET", "\(prefix)job:\(id.rawValue)", "s", "n"]]).first?.array ?? []
        if let state = live.first?.string.flatMap(JobState.init(rawValue:)) { job.state = state }
        if live.count > 1, let attempt = live[1].int { job.attempt = attempt }
        return job
    }

    public func jobs(_ filter: JobFilter, limit: Int, after: JobID?) async throws -> [JobRecord] {
        try await rows.jobs(filter, limit: limit, after: after)
    }

    public func cancel(_ id: JobID, tenant: TenantID?, nowMillis: Int64) async throws -> JobRecord? {
        guard let (job, changed) = try await rows.cancel(id, tenant: tenant, nowMillis: nowMillis) else { return nil }
        if changed { _ = try await RedisJobScripts.forget.evaluate(on: redis, [prefix, job.spec.queue, job.id.rawValue]) }
        return job
    }

    public func replay(_ filter: JobFilter, nowMillis: Int64) async throws -> Int {
        let jobs = try await rows.replay(filter, nowMillis: nowMillis)
        try await send(jobs, mode: "replay", nowMillis: nowMillis)
        return jobs.count
    }

    public func purge(_ filter: JobFilter, limit: Int) async throws -> Int {
        var finished = filter
        finished.states = filter.states.isEmpty ? [.dead] : filter.states.filter(\.isFinal)
        guard !finished.states.isEmpty else { return 0 }
        let purged = try await rows.purge(finished, limit: limit)
        for start in stride(from: 0, to: purged.count, by: 1_000) {
            var arguments = [prefix]
            for job in purged[start..<min(start + 1_000, purged.count)] { arguments += [job.queue, job.id] }
            _ = try await RedisJobScripts.forget.evaluate(on: redis, arguments)
        }
        return purged.count
    }

    public func counts() async throws -> [JobCount] {
        // Finished states from PostgreSQL; live ones from Redis, which alone knows what runs.
        var byQueue: [String: [JobState: Int]] = [:]
        for count in try await rows.counts() where count.state.isFinal { byQueue[count.queue, default: [:]][count.state] = count.count }
        let reply = try await RedisJobScripts.counts.evaluate(on: redis, [prefix]).array ?? []
        for start in stride(from: 0, to: reply.count - 4, by: 5) {
            guard let queue = reply[start].string else { continue }
            byQueue[queue, default: [:]][.available] = reply[start + 1].int ?? 0
            byQueue[queue, default: [:]][.running] = reply[start + 2].int ?? 0
            byQueue[queue, default: [:]][.scheduled] = reply[start + 3].int ?? 0
        }
        return byQueue.keys.sorted().flatMap { queue in
            JobState.allCases.compactMap { state in
                byQueue[queue]?[state].flatMap { $0 > 0 ? JobCount(queue: queue, state: state, count: $0) : nil }
            }
        }
    }

    static func record(id: String, queue: String, attempt: String, kind: String, tenant: String, priority: String, args: String,
                       maxAttempts: String, runAt: String, createdAt: String, state: JobState, nowMillis: Int64) throws -> JobRecord {
        guard let attemptValue = Int(attempt), let priorityValue = Int(priority), let maxValue = Int(maxAttempts),
              let runAtValue = Int64(runAt), let createdValue = Int64(createdAt)
        else { throw RedisError(.reply, "malformed job hash for \(id)") }
        let spec = JobSpec(kind: kind, queue: queue, tenant: tenant.isEmpty ? nil : TenantID(trusted: tenant), args: args,
                           priority: priorityValue, runAtMillis: runAtValue, maxAttempts: maxValue)
        return JobRecord(id: JobID(trusted: id), spec: spec, state: state, attempt: attemptValue, runAtMillis: runAtValue, errors: [],
                         createdAtMillis: createdValue, updatedAtMillis: nowMillis, finalizedAtMillis: nil)
    }
}
