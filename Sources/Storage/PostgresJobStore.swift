import Core
import Logging
import PostgresNIO
import Scheduler
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The durable side of the production job queue: `background_jobs` on PostgreSQL. It holds
/// what must survive Redis (every unfinished job, the dead-letter queue, the history); the
/// running state and the visibility deadlines live in Redis. Writes are batched with arrays,
/// and every change is guarded to unfinished rows, so a late or repeated write never reopens
/// a finished job.
struct PostgresJobStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    static let columns = "id, tenant_id, queue, kind, args::text, priority, state, attempt, max_attempts, run_at, unique_key, errors::text, created_at, updated_at, finalized_at"
    static let unfinished = "('available', 'scheduled', 'running', 'retryable')"

    typealias Row = (String, String?, String, String, String, Int16, String, Int32, Int32, Int64, String?, String, Int64, Int64, Int64?)

    /// Inserts the jobs (one statement); unique keys already taken answer the existing job.
    func insert(_ specs: [JobSpec], nowMillis: Int64) async throws -> [(EnqueuedJob, JobRecord)] {
        try await client.withConnection { connection in try await Self.insert(specs, on: connection, nowMillis: nowMillis, logger: logger) }
    }

    /// Inserts on a connection inside the caller's transaction (the outbox). The caller
    /// dispatches the inserted jobs after its commit.
    static func insert(_ specs: [JobSpec], on connection: PostgresConnection, nowMillis: Int64, logger: Logger) async throws -> [(EnqueuedJob, JobRecord)] {
        guard !specs.isEmpty else { return [] }
        let stamp = Date(timeIntervalSince1970: Double(nowMillis) / 1_000)
        let records = specs.map { spec in
            let runAt = spec.runAtMillis ?? nowMillis
            return JobRecord(id: .generate(at: stamp), spec: spec, state: runAt > nowMillis ? .scheduled : .available, attempt: 0,
                             runAtMillis: runAt, errors: [], createdAtMillis: nowMillis, updatedAtMillis: nowMillis, finalizedAtMillis: nil)
        }
        let ids = records.map(\.id.rawValue)
        let inserted = try await connection.query(
            """
            INSERT INTO background_jobs (id, tenant_id, queue, kind, args, priority, state, attempt, max_attempts, run_at, unique_key,
                                         created_at, updated_at)
            SELECT i, NULLIF(t, ''), q, k, a::jsonb, p, s, 0, m, r, NULLIF(u, ''), \(nowMillis), \(nowMillis)
            FROM unnest(\(ids)::text[], \(records.map { $0.spec.tenant?.rawValue ?? "" })::text[], \(records.map(\.spec.queue))::text[],
                        \(records.map(\.spec.kind))::text[], \(records.map(\.spec.args))::text[], \(records.map { $0.spec.priority })::int2[],
                        \(records.map(\.state.rawValue))::text[], \(records.map { $0.spec.maxAttempts })::int4[], \(records.map(\.runAtMillis))::int8[],
                        \(records.map { $0.spec.uniqueKey ?? "" })::text[]) WITH ORDINALITY AS j(i, t, q, k, a, p, s, m, r, u, n)
            ORDER BY n
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
            RETURNING id
            """,
            logger: logger
        )
        var fresh = Set<String>()
        for try await id in inserted.decode(String.self) { fresh.insert(id) }
        let taken = records.filter { !fresh.contains($0.id.rawValue) }.compactMap(\.spec.uniqueKey)
        var existing: [String: String] = [:]
        if !taken.isEmpty {
            let rows = try await connection.query("SELECT unique_key, id FROM background_jobs WHERE unique_key = ANY(\(taken)::text[])", logger: logger)
            for try await (key, id) in rows.decode((String, String).self) { existing[key] = id }
        }
        var firstWithKey: [String: String] = [:]
        return try records.map { record in
            if fresh.contains(record.id.rawValue) {
                if let key = record.spec.uniqueKey { firstWithKey[key] = record.id.rawValue }
                return (EnqueuedJob(id: record.id, inserted: true), record)
            }
            guard let key = record.spec.uniqueKey, let id = existing[key] ?? firstWithKey[key] else {
                throw StorageDecodingError(column: "unique_key")
            }
            return (EnqueuedJob(id: JobID(trusted: id), inserted: false), record)
        }
    }

    /// Marks the jobs completed (if still unfinished).
    func complete(_ leases: [JobLease], nowMillis: Int64) async throws {
        guard !leases.isEmpty else { return }
        try await client.query(
            """
            UPDATE background_jobs b SET state = 'completed', attempt = GREATEST(b.attempt, u.a), worker = NULL, updated_at = \(nowMillis),
                finalized_at = \(nowMillis)
            FROM unnest(\(leases.map(\.id.rawValue))::text[], \(leases.map(\.attempt))::int4[]) AS u(i, a)
            WHERE b.id = u.i AND b.state IN \(unescaped: Self.unfinished)
            """,
            logger: logger
        )
    }

    /// Records failure decisions (if the job is still unfinished and not already past that attempt).
    func fail(_ reports: [JobFailureReport], nowMillis: Int64) async throws {
        let moves = reports.compactMap { report -> (JobFailureReport, JobState)? in
            JobStateMachine.next(from: .running, on: report.decision.event).map { (report, $0) }
        }
        guard !moves.isEmpty else { return }
        try await client.query(
            """
            UPDATE background_jobs b SET state = u.s, attempt = u.n, run_at = u.r, worker = NULL, updated_at = \(nowMillis),
                finalized_at = CASE WHEN u.s IN ('completed', 'cancelled', 'dead') THEN \(nowMillis) END,
                errors = CASE WHEN u.e THEN b.errors || jsonb_build_array(jsonb_build_object('attempt', u.a, 'at', \(nowMillis), 'message', u.m))
                         ELSE b.errors END
            FROM unnest(\(moves.map(\.0.lease.id.rawValue))::text[], \(moves.map(\.1.rawValue))::text[], \(moves.map(\.0.decision.attempt))::int4[],
                        \(moves.map { $0.0.decision.runAtMillis ?? nowMillis })::int8[], \(moves.map(\.0.lease.attempt))::int4[],
                        \(moves.map(\.0.message))::text[], \(moves.map { $0.0.decision.event != .snooze })::bool[]) AS u(i, s, n, r, a, m, e)
            WHERE b.id = u.i AND b.state IN \(unescaped: Self.unfinished) AND b.attempt <= u.a
            """,
            logger: logger
        )
    }

    /// Unfinished jobs last changed before `beforeMillis`, by id after the cursor.
    func unfinished(after: String, beforeMillis: Int64?, limit: Int) async throws -> [JobRecord] {
        let before = beforeMillis ?? Int64.max
        return try await read(
            """
            SELECT \(unescaped: Self.columns) FROM background_jobs
            WHERE state IN \(unescaped: Self.unfinished) AND id > \(after) AND updated_at < \(before) ORDER BY id LIMIT \(limit)
            """
        )
    }

    /// Of these jobs, the ones still unfinished.
    func stillUnfinished(_ ids: [String]) async throws -> [JobRecord] {
        try await read("SELECT \(unescaped: Self.columns) FROM background_jobs WHERE id = ANY(\(ids)::text[]) AND state IN \(unescaped: Self.unfinished) ORDER BY id")
    }

    func job(_ id: JobID) async throws -> JobRecord? {
        try await read("SELECT \(unescaped: Self.columns) FROM background_jobs WHERE id = \(id.rawValue)").first
    }

    func jobs(_ filter: JobFilter, limit: Int, after: JobID?) async throws -> [JobRecord] {
        var query = Self.filtered("SELECT \(Self.columns) FROM background_jobs", filter)
        if let after { query.sql += " AND id > $\(query.binds.count + 1)"; query.binds.append(after.rawValue) }
        query.sql += " ORDER BY id LIMIT \(max(0, limit))"
        return try await read(PostgresQuery(unsafeSQL: query.sql, binds: query.encoded()))
    }

    /// Cancels an unfinished job; answers it as it is afterwards (`nil`: no such job for that tenant).
    func cancel(_ id: JobID, tenant: TenantID?, nowMillis: Int64) async throws -> (JobRecord, changed: Bool)? {
        let tenantText = tenant?.rawValue
        let changed = try await read(
            """
            UPDATE background_jobs SET state = 'cancelled', worker = NULL, updated_at = \(nowMillis), finalized_at = \(nowMillis)
            WHERE id = \(id.rawValue) AND state IN \(unescaped: Self.unfinished) AND (\(tenantText)::text IS NULL OR tenant_id = \(tenantText))
            RETURNING \(unescaped: Self.columns)
            """
        )
        if let job = changed.first { return (job, true) }
        guard let job = try await self.job(id), tenant == nil || job.spec.tenant == tenant else { return nil }
        return (job, false)
    }

    /// Makes matching dead jobs available again; answers them.
    func replay(_ filter: JobFilter, nowMillis: Int64) async throws -> [JobRecord] {
        var dead = filter
        dead.states = [.dead]
        var query = Self.filtered("SELECT id FROM background_jobs", dead)
        let now = query.binds.count + 1
        query.sql = """
            UPDATE background_jobs SET state = 'available', attempt = 0, run_at = $\(now), worker = NULL, updated_at = $\(now), finalized_at = NULL
            WHERE id IN (\(query.sql)) RETURNING \(Self.columns)
            """
        query.binds.append(nowMillis)
        return try await read(PostgresQuery(unsafeSQL: query.sql, binds: query.encoded()))
    }

    /// Deletes matching finished jobs; answers their ids and queues.
    func purge(_ filter: JobFilter, limit: Int) async throws -> [(id: String, queue: String)] {
        var query = Self.filtered("SELECT id FROM background_jobs", filter)
        query.sql = "DELETE FROM background_jobs WHERE id IN (\(query.sql) LIMIT \(max(0, limit))) RETURNING id, queue"
        let rows = try await client.query(PostgresQuery(unsafeSQL: query.sql, binds: query.encoded()), logger: logger)
        var out: [(id: String, queue: String)] = []
        for try await (id, queue) in rows.decode((String, String).self) { out.append((id, queue)) }
        return out
    }

    /// Jobs per queue and state, as recorded.
    func counts() async throws -> [JobCount] {
        let rows = try await client.query("SELECT queue, state, COUNT(*) FROM background_jobs GROUP BY queue, state ORDER BY queue, state", logger: logger)
        var out: [JobCount] = []
        for try await (queue, state, count) in rows.decode((String, String, Int64).self) {
            guard let state = JobState(rawValue: state) else { throw StorageDecodingError(column: "state") }
            out.append(JobCount(queue: queue, state: state, count: Int(count)))
        }
        return out
    }

    // MARK: Rows

    private func read(_ query: PostgresQuery) async throws -> [JobRecord] {
        var out: [JobRecord] = []
        for try await row in try await client.query(query, logger: logger).decode(Row.self) { out.append(try Self.record(row)) }
        return out
    }

    static func record(_ row: Row) throws -> JobRecord {
        let (id, tenant, queue, kind, args, priority, state, attempt, maxAttempts, runAt, uniqueKey, errors, created, updated, finalized) = row
        guard let state = JobState(rawValue: state) else { throw StorageDecodingError(column: "state") }
        let spec = JobSpec(kind: kind, queue: queue, tenant: tenant.map(TenantID.init(trusted:)), args: args, priority: Int(priority),
                           runAtMillis: runAt, maxAttempts: Int(maxAttempts), uniqueKey: uniqueKey)
        return JobRecord(id: JobID(trusted: id), spec: spec, state: state, attempt: Int(attempt), runAtMillis: runAt,
                         errors: JobRecord.parseErrors(errors), createdAtMillis: created, updatedAtMillis: updated, finalizedAtMillis: finalized)
    }

    /// A filter as SQL with numbered binds (text and int8 only).
    struct FilteredQuery {
        var sql: String
        var binds: [any PostgresEncodable & Sendable]

        func encoded() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: binds.count)
            for bind in binds { try bindings.append(bind, context: .default) }
            return bindings
        }
    }

    static func filtered(_ select: String, _ filter: JobFilter) -> FilteredQuery {
        var query = FilteredQuery(sql: select + " WHERE 1 = 1", binds: [])
        func add(_ clause: (Int) -> String, _ bind: any PostgresEncodable & Sendable) {
            query.binds.append(bind)
            query.sql += " AND " + clause(query.binds.count)
        }
        if !filter.states.isEmpty { add({ "state = ANY($\($0)::text[])" }, filter.states.map(\.rawValue)) }
        if let queue = filter.queue { add({ "queue = $\($0)" }, queue) }
        if let kind = filter.kind { add({ "kind = $\($0)" }, kind) }
        if let tenant = filter.tenant { add({ "tenant_id = $\($0)" }, tenant.rawValue) }
        if let before = filter.changedBeforeMillis { add({ "updated_at < $\($0)" }, before) }
        if let before = filter.finishedBeforeMillis { add({ "finalized_at < $\($0)" }, before) }
        if let ids = filter.ids { add({ "id = ANY($\($0)::text[])" }, ids.map(\.rawValue)) }
        return query
    }
}
