import Core
import Scheduler

/// The job queue driver: the durable job record plus dispatch to workers. The embedded
/// driver (`SQLiteJobQueue`) is one table; the production driver (`RedisJobQueue`) keeps the
/// record in PostgreSQL and dispatches through Redis. Both pass `JobQueueConformanceTests`.
///
/// Workers hold a job by its `JobLease` (id and attempt): a worker whose job was rescued from
/// under it (it stopped heartbeating) and fetched again finds its completion or failure ignored.
/// Times are milliseconds since the epoch, passed in so tests control the clock.
public protocol JobQueue: Sendable {
    /// Records the jobs durably and dispatches them. A spec whose unique key matches an
    /// existing job adds nothing and answers that job's id with `inserted == false`.
    func enqueue(_ specs: [JobSpec], nowMillis: Int64) async throws -> [EnqueuedJob]
    /// Dispatches jobs already recorded in another transaction (the outbox); rows it cannot
    /// dispatch now are left to the reconciler.
    func dispatch(_ ids: [JobID], nowMillis: Int64) async throws

    /// Takes up to `limit` jobs that may run now from `queue` for `worker`, tenants in turn and
    /// priority first; each is `running` with its attempt counted and a visibility deadline of
    /// `now + visibilityMillis`.
    func fetch(queue: String, limit: Int, worker: String, nowMillis: Int64, visibilityMillis: Int64) async throws -> [JobRecord]
    /// A rate-limited queue's token bucket, shared by every node: takes up to `want` job starts
    /// of `perSecond` (bursts up to one second's worth); when none is left, answers how long
    /// until one is.
    func takeStarts(queue: String, want: Int, perSecond: Int, nowMillis: Int64) async throws -> (granted: Int, retryAfterMillis: Int64)
    /// Waits up to `timeoutMillis` for work to arrive on `queue` (returns early when it does, or
    /// when a job scheduled after `nowMillis` falls due).
    func waitForWork(queue: String, timeoutMillis: Int, nowMillis: Int64) async throws
    /// Moves the deadlines of jobs the worker still holds; answers the ones it holds.
    func heartbeat(_ leases: [JobLease], nowMillis: Int64, visibilityMillis: Int64) async throws -> Set<JobID>
    /// Marks held jobs completed; leases no longer held are ignored.
    func complete(_ leases: [JobLease], nowMillis: Int64) async throws
    /// Carries out failure decisions (retry later, snooze, dead) for held jobs.
    func fail(_ reports: [JobFailureReport], nowMillis: Int64) async throws
    /// Hands held jobs back to their queue without spending their attempt (worker shutdown).
    func release(_ leases: [JobLease], nowMillis: Int64) async throws
    /// Running jobs whose deadline passed (their worker died or hung), claimed for
    /// `claimMillis` so that one rescuer decides each.
    func claimLapsed(nowMillis: Int64, limit: Int, claimMillis: Int64) async throws -> [JobRecord]
    /// Re-dispatches unfinished jobs the dispatcher lost (Redis flushed or restarted without
    /// its data, a crash between commit and dispatch) that were last changed before
    /// `now - graceMillis`; answers how many. The embedded driver has nothing to lose.
    func reconcile(nowMillis: Int64, graceMillis: Int64) async throws -> Int

    /// One job, as it is now.
    func job(_ id: JobID) async throws -> JobRecord?
    /// Jobs matching `filter`, by id, after the cursor.
    func jobs(_ filter: JobFilter, limit: Int, after: JobID?) async throws -> [JobRecord]
    /// Cancels an unfinished job; `nil` when there is no such job (for that tenant, if given).
    /// A finished job comes back unchanged.
    func cancel(_ id: JobID, tenant: TenantID?, nowMillis: Int64) async throws -> JobRecord?
    /// Replays dead jobs matching the filter (state forced to `dead`): each becomes available
    /// with fresh attempts and its error history kept. Answers how many.
    func replay(_ filter: JobFilter, nowMillis: Int64) async throws -> Int
    /// Deletes finished jobs matching the filter (its states must all be final). Answers how many.
    func purge(_ filter: JobFilter, limit: Int) async throws -> Int
    /// Jobs per queue and state.
    func counts() async throws -> [JobCount]
}

/// A worker's hold on one job: the attempt it fetched.
public struct JobLease: Sendable, Hashable {
    public var id: JobID
    public var queue: String
    public var attempt: Int

    public init(id: JobID, queue: String, attempt: Int) {
        self.id = id
        self.queue = queue
        self.attempt = attempt
    }

    public init(_ job: JobRecord) {
        self.init(id: job.id, queue: job.spec.queue, attempt: job.attempt)
    }
}

/// The outcome of `enqueue` for one spec.
public struct EnqueuedJob: Sendable, Equatable {
    public var id: JobID
    /// `false` when a job with the same unique key already existed (and `id` is that job's).
    public var inserted: Bool

    public init(id: JobID, inserted: Bool) {
        self.id = id
        self.inserted = inserted
    }
}

/// A failed attempt and what to do about it.
public struct JobFailureReport: Sendable, Equatable {
    public var lease: JobLease
    public var decision: JobFailure.Decision
    public var message: String

    public init(lease: JobLease, decision: JobFailure.Decision, message: String) {
        self.lease = lease
        self.decision = decision
        self.message = message
    }
}

/// Which jobs an admin call is about. Empty fields match everything.
public struct JobFilter: Sendable, Equatable {
    public var states: [JobState]
    public var queue: String?
    public var kind: String?
    public var tenant: TenantID?
    /// Only jobs last changed before this instant (milliseconds since the epoch).
    public var changedBeforeMillis: Int64?
    /// Only these jobs.
    public var ids: [JobID]?
    /// Only jobs that finished before this instant (retention; uses the finished-jobs index).
    public var finishedBeforeMillis: Int64?

    public init(states: [JobState] = [], queue: String? = nil, kind: String? = nil, tenant: TenantID? = nil,
                changedBeforeMillis: Int64? = nil, ids: [JobID]? = nil, finishedBeforeMillis: Int64? = nil) {
        self.states = states
        self.queue = queue
        self.kind = kind
        self.tenant = tenant
        self.changedBeforeMillis = changedBeforeMillis
        self.ids = ids
        self.finishedBeforeMillis = finishedBeforeMillis
    }
}

/// How many jobs one queue holds in one state.
public struct JobCount: Sendable, Equatable {
    public var queue: String
    public var state: JobState
    public var count: Int

    public init(queue: String, state: JobState, count: Int) {
        self.queue = queue
        self.state = state
        self.count = count
    }
}
