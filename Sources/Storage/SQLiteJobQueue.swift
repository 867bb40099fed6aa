import Core
import Scheduler
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded job queue: `background_jobs` in the SQLite file is both the durable record
/// and the queue. Workers claim rows inside the writer's transactions; tenants take turns
/// through the `turn` column (a tenant's next job goes behind its own waiting ones, not
/// behind everyone's).
public struct SQLiteJobQueue: JobQueue {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    static let columns = "id, tenant_id, queue, kind, args, priority, state, attempt, max_attempts, run_at, unique_key, errors, created_at, updated_at, finalized_at"
    static let waiting = "('available', 'scheduled', 'retryable')"

    // MARK: Producing

    public func enqueue(_ specs: [JobSpec], nowMillis: Int64) async throws -> [EnqueuedJob] {
        guard !specs.isEmpty else { return [] }
        return try await database.transaction { db in try await Self.insert(specs, on: db, in: database, nowMillis: nowMillis) }
    }

    /// Inserts job rows on a connection inside the caller's transaction on `file` (the outbox);
    /// the embedded queue needs no dispatch afterwards. Wakes `file`'s idle workers.
    public static func insert(_ specs: [JobSpec], on db: SQLiteConnection, in file: SQLiteDatabaseFile, nowMillis: Int64) async throws -> [EnqueuedJob] {
        defer { file.jobWake.signal() }
        var results: [EnqueuedJob] = []
        results.reserveCapacity(specs.count)
        for spec in specs {
            let id = JobID.generate(at: Date(timeIntervalSince1970: Double(nowMillis) / 1_000))
            let runAt = spec.runAtMillis ?? nowMillis
            let state: JobState = runAt > nowMillis ? .scheduled : .available
            let tenant: SQLiteData = spec.tenant.map { .text($0.rawValue) } ?? .null
            let rows = try await db.query(
                """
                INSERT INTO background_jobs (id, tenant_id, queue, kind, args, priority, state, attempt, max_attempts, run_at, unique_key,
                                             errors, turn, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, '[]',
                        COALESCE((SELECT MAX(turn) FROM background_jobs WHERE queue = ? AND tenant_id IS ? AND state IN \(waiting)), 0) + 1,
                        ?, ?)
                ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING id
                """,
                [.text(id.rawValue), tenant, .text(spec.queue), .text(spec.kind), .text(spec.args), .integer(spec.priority), .text(state.rawValue),
                 .integer(spec.maxAttempts), .integer(Int(runAt)), spec.uniqueKey.map { .text($0) } ?? .null,
                 .text(spec.queue), tenant, .integer(Int(nowMillis)), .integer(Int(nowMillis))]
            )
            if !rows.isEmpty {
                results.append(EnqueuedJob(id: id, inserted: true))
            } else {
                let existing = try await db.query("SELECT id FROM background_jobs WHERE unique_key = ?", [.text(spec.uniqueKey ?? "")])
                guard let row = existing.first else { throw StorageDecodingError(column: "unique_key") }
                results.append(EnqueuedJob(id: JobID(trusted: try row.text("id")), inserted: false))
            }
        }
        return results
    }

    public func dispatch(_ ids: [JobID], nowMillis: Int64) async throws {}

    // MARK: Working

    public func fetch(queue: String, limit: Int, worker: String, nowMillis: Int64, visibilityMillis: Int64) async throws -> [JobRecord] {
        guard limit > 0 else { return [] }
        database.jobWake.looked(at: queue)
        return try await database.transaction { db in
            try await db.query(
                """
                UPDATE background_jobs SET state = 'running', attempt = attempt + 1, worker = ?, deadline = ?, updated_at = ?
                WHERE id IN (
                    SELECT id FROM background_jobs
                    WHERE queue = ? AND state IN \(Self.waiting) AND run_at <= ?
                    ORDER BY priority, turn, run_at, id LIMIT ?
                )
                RETURNING \(Self.columns)
                """,
                [.text(worker), .integer(Int(nowMillis + visibilityMillis)), .integer(Int(nowMillis)), .text(queue), .integer(Int(nowMillis)), .integer(limit)]
            ).map(Self.record).sorted { ($0.spec.priority, $0.runAtMillis, $0.id) < ($1.spec.priority, $1.runAtMillis, $1.id) }
        }
    }

    public func takeStarts(queue: String, want: Int, perSecond: Int, nowMillis: Int64) async throws -> (granted: Int, retryAfterMillis: Int64) {
        try await database.transaction { db in
            let row = try await db.query("SELECT tokens, updated_at FROM job_queue_rates WHERE queue = ?", [.text(queue)]).first
            let stored = row.map { (tokens: $0.column("tokens")?.double ?? 0, at: Int64($0.column("updated_at")?.integer ?? 0)) }
            let take = TokenBucket.take(stored: stored, want: want, perSecond: perSecond, nowMillis: nowMillis)
            _ = try await db.query(
                "INSERT INTO job_queue_rates (queue, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT (queue) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                [.text(queue), .float(take.tokens), .integer(Int(nowMillis))]
            )
            return (take.granted, take.retryAfterMillis)
        }
    }

    /// Waits for a signal from this process (`JobWake`), for the queue's next scheduled or
    /// retryable job to fall due, or for `timeoutMillis` (what another process wrote is found
    /// then), whichever comes first.
    public func waitForWork(queue: String, timeoutMillis: Int, nowMillis: Int64) async throws {
        var wait = Int64(max(1, timeoutMillis))
        // The earliest waiting job; one already due (it fell due since the fetch) ends the wait at once.
        let next = try await database.read(
            "SELECT MIN(run_at) AS next FROM background_jobs WHERE queue = ? AND state IN \(Self.waiting)", [.text(queue)]
        ).first?.column("next")?.integer
        if let next { wait = min(wait, Int64(next) - nowMillis) }
        guard wait > 0 else { return }
        await database.jobWake.wait(queue: queue, timeout: .milliseconds(wait))
    }

    public func heartbeat(_ leases: [JobLease], nowMillis: Int64, visibilityMillis: Int64) async throws -> Set<JobID> {
        guard !leases.isEmpty else { return [] }
        return try await database.transaction { db in
            var held = Set<JobID>()
            for lease in leases {
                let rows = try await db.query(
                    "UPDATE background_jobs SET deadline = ? WHERE id = ? AND state = 'running' AND attempt = ? RETURNING id",
                    [.integer(Int(nowMillis + visibilityMillis)), .text(lease.id.rawValue), .integer(lease.attempt)]
                )
                if !rows.isEmpty { held.insert(lease.id) }
            }
            return held
        }
    }

    public func complete(_ leases: [JobLease], nowMillis: Int64) async throws {
        guard !leases.isEmpty else { return }
        try await database.transaction { db in
            for lease in leases {
                _ = try await db.query(
                    """
                    UPDATE background_jobs SET state = 'completed', worker = NULL, deadline = NULL, updated_at = ?, finalized_at = ?
                    WHERE id = ? AND state = 'running' AND attempt = ?
                    """,
                    [.integer(Int(nowMillis)), .integer(Int(nowMillis)), .text(lease.id.rawValue), .integer(lease.attempt)]
                )
            }
        }
    }

    public func fail(_ reports: [JobFailureReport], nowMillis: Int64) async throws {
        guard !reports.isEmpty else { return }
        defer { database.jobWake.signal() }  // a retry to schedule, a job to run again
        try await database.transaction { db in
            for report in reports {
                guard let state = JobStateMachine.next(from: .running, on: report.decision.event) else { continue }
                let rows = try await db.query(
                    "SELECT errors FROM background_jobs WHERE id = ? AND state = 'running' AND attempt = ?",
                    [.text(report.lease.id.rawValue), .integer(report.lease.attempt)]
                )
                guard let row = rows.first else { continue }
                var errors = JobRecord.parseErrors(try row.text("errors"))
                if report.decision.event != .snooze {
                    errors.append(JobRecord.AttemptError(attempt: report.lease.attempt, atMillis: nowMillis, message: report.message))
                }
                _ = try await db.query(
                    """
                    UPDATE background_jobs SET state = ?, attempt = ?, run_at = ?, errors = ?, worker = NULL, deadline = NULL,
                        updated_at = ?, finalized_at = ?
                    WHERE id = ?
                    """,
                    [.text(state.rawValue), .integer(report.decision.attempt), .integer(Int(report.decision.runAtMillis ?? nowMillis)),
                     .text(JobRecord.errorsJSON(errors)), .integer(Int(nowMillis)), state.isFinal ? .integer(Int(nowMillis)) : .null,
                     .text(report.lease.id.rawValue)]
                )
            }
        }
    }

    public func release(_ leases: [JobLease], nowMillis: Int64) async throws {
        guard !leases.isEmpty else { return }
        defer { database.jobWake.signal() }  // the jobs can run again
        try await database.transaction { db in
            for lease in leases {
                _ = try await db.query(
                    """
                    UPDATE background_jobs SET state = 'available', attempt = attempt - 1, worker = NULL, deadline = NULL, updated_at = ?
                    WHERE id = ? AND state = 'running' AND attempt = ?
                    """,
                    [.integer(Int(nowMillis)), .text(lease.id.rawValue), .integer(lease.attempt)]
                )
            }
        }
    }

    public func claimLapsed(nowMillis: Int64, limit: Int, claimMillis: Int64) async throws -> [JobRecord] {
        try await database.transaction { db in
            try await db.query(
                """
                UPDATE background_jobs SET deadline = ?
                WHERE id IN (SELECT id FROM background_jobs WHERE state = 'running' AND deadline < ? ORDER BY deadline LIMIT ?)
                RETURNING \(Self.columns)
                """,
                [.integer(Int(nowMillis + claimMillis)), .integer(Int(nowMillis)), .integer(limit)]
            ).map(Self.record)
        }
    }

    public func reconcile(nowMillis: Int64, graceMillis: Int64) async throws -> Int { 0 }

    // MARK: Administering

    public func job(_ id: JobID) async throws -> JobRecord? {
        try await database.read("SELECT \(Self.columns) FROM background_jobs WHERE id = ?", [.text(id.rawValue)]).map(Self.record).first
    }

    public func jobs(_ filter: JobFilter, limit: Int, after: JobID?) async throws -> [JobRecord] {
        var (clause, binds) = Self.whereClause(filter)
        if let after {
            clause += " AND id > ?"
            binds.append(.text(after.rawValue))
        }
        binds.append(.integer(limit))
        return try await database.read("SELECT \(Self.columns) FROM background_jobs WHERE \(clause) ORDER BY id LIMIT ?", binds).map(Self.record)
    }

    public func cancel(_ id: JobID, tenant: TenantID?, nowMillis: Int64) async throws -> JobRecord? {
        try await database.transaction { db in
            var sql = "SELECT \(Self.columns) FROM background_jobs WHERE id = ?"
            var binds: [SQLiteData] = [.text(id.rawValue)]
            if let tenant {
                sql += " AND tenant_id = ?"
                binds.append(.text(tenant.rawValue))
            }
            guard let job = try await db.query(sql, binds).map(Self.record).first else { return nil }
            guard JobStateMachine.next(from: job.state, on: .cancel) != nil else { return job }
            return try await db.query(
                """
                UPDATE background_jobs SET state = 'cancelled', worker = NULL, deadline = NULL, updated_at = ?, finalized_at = ?
                WHERE id = ? RETURNING \(Self.columns)
                """,
                [.integer(Int(nowMillis)), .integer(Int(nowMillis)), .text(id.rawValue)]
            ).map(Self.record).first
        }
    }

    public func replay(_ filter: JobFilter, nowMillis: Int64) async throws -> Int {
        defer { database.jobWake.signal() }
        var dead = filter
        dead.states = [.dead]
        let (clause, binds) = Self.whereClause(dead)
        return try await database.transaction { db in
            try await db.query(
                """
                UPDATE background_jobs SET state = 'available', attempt = 0, run_at = ?, worker = NULL, deadline = NULL, updated_at = ?,
                    finalized_at = NULL, turn = 1
                WHERE \(clause) RETURNING id
                """,
                [.integer(Int(nowMillis)), .integer(Int(nowMillis))] + binds
            ).count
        }
    }

    public func purge(_ filter: JobFilter, limit: Int) async throws -> Int {
        var finished = filter
        finished.states = filter.states.isEmpty ? [.dead] : filter.states.filter(\.isFinal)
        guard !finished.states.isEmpty else { return 0 }
        let (clause, binds) = Self.whereClause(finished)
        return try await database.transaction { db in
            try await db.query(
                "DELETE FROM background_jobs WHERE id IN (SELECT id FROM background_jobs WHERE \(clause) LIMIT ?) RETURNING id",
                binds + [.integer(limit)]
            ).count
        }
    }

    public func counts() async throws -> [JobCount] {
        try await database.read("SELECT queue, state, COUNT(*) AS n FROM background_jobs GROUP BY queue, state ORDER BY queue, state").map { row in
            guard let state = JobState(rawValue: try row.text("state")) else { throw StorageDecodingError(column: "state") }
            return JobCount(queue: try row.text("queue"), state: state, count: try row.int("n"))
        }
    }

    // MARK: Rows

    static func whereClause(_ filter: JobFilter) -> (String, [SQLiteData]) {
        var parts = ["1 = 1"]
        var binds: [SQLiteData] = []
        if !filter.states.isEmpty {
            parts.append("state IN (" + filter.states.map { _ in "?" }.joined(separator: ", ") + ")")
            binds += filter.states.map { .text($0.rawValue) }
        }
        if let queue = filter.queue { parts.append("queue = ?"); binds.append(.text(queue)) }
        if let kind = filter.kind { parts.append("kind = ?"); binds.append(.text(kind)) }
        if let tenant = filter.tenant { parts.append("tenant_id = ?"); binds.append(.text(tenant.rawValue)) }
        if let before = filter.changedBeforeMillis { parts.append("updated_at < ?"); binds.append(.integer(Int(before))) }
        if let before = filter.finishedBeforeMillis { parts.append("finalized_at < ?"); binds.append(.integer(Int(before))) }
        if let ids = filter.ids {
            parts.append(ids.isEmpty ? "0 = 1" : "id IN (" + ids.map { _ in "?" }.joined(separator: ", ") + ")")
            binds += ids.map { .text($0.rawValue) }
        }
        return (parts.joined(separator: " AND "), binds)
    }

    static func record(_ row: SQLiteRow) throws -> JobRecord {
        guard let state = JobState(rawValue: try row.text("state")) else { throw StorageDecodingError(column: "state") }
        let spec = JobSpec(
            kind: try row.text("kind"), queue: try row.text("queue"), tenant: row.optionalText("tenant_id").map(TenantID.init(trusted:)),
            args: try row.text("args"), priority: try row.int("priority"), runAtMillis: Int64(try row.int("run_at")),
            maxAttempts: try row.int("max_attempts"), uniqueKey: row.optionalText("unique_key")
        )
        return JobRecord(
            id: JobID(trusted: try row.text("id")), spec: spec, state: state, attempt: try row.int("attempt"),
            runAtMillis: Int64(try row.int("run_at")), errors: JobRecord.parseErrors(try row.text("errors")),
            createdAtMillis: Int64(try row.int("created_at")), updatedAtMillis: Int64(try row.int("updated_at")),
            finalizedAtMillis: row.column("finalized_at")?.integer.map(Int64.init)
        )
    }
}
