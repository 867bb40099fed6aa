import Core
import Foundation
import Scheduler
import Storage
import TallyTestSupport
import Testing

/// The job queue driver contract, on the embedded queue (SQLite) and the production one
/// (PostgreSQL record + Redis dispatch). Time is passed in, never slept.
@Suite struct JobQueueConformanceTests {
    static let t0: Int64 = 1_800_000_000_000

    func tenant(_ storage: StorageBackend, _ slug: String) async throws -> TenantID {
        let tenant = Tenant(id: .generate(), slug: slug, name: slug, status: .active, settings: [:], createdAt: Date(), updatedAt: Date())
        try await storage.store.insertTenant(tenant)
        return tenant.id
    }

    func decide(_ failure: JobFailure, _ job: JobRecord, now: Int64, backoff: JobBackoff = .schedule([.seconds(10)])) -> JobFailureReport {
        var generator = SystemRandomNumberGenerator()
        let decision = failure.decide(attempt: job.attempt, maxAttempts: job.spec.maxAttempts, backoff: backoff, nowMillis: now, using: &generator)
        return JobFailureReport(lease: JobLease(job), decision: decision, message: failure.message)
    }

    @Test(arguments: TestBackend.available)
    func jobsRunOnceAndCompleteForGood(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let queue = storage.jobs
            let t = Self.t0
            let enqueued = try await queue.enqueue([JobSpec(kind: "test.a", args: #"{"n":1}"#), JobSpec(kind: "test.b")], nowMillis: t)
            #expect(enqueued.count == 2 && enqueued.allSatisfy(\.inserted))
            #expect(try await queue.job(enqueued[0].id)?.state == .available)

            let fetched = try await queue.fetch(queue: "default", limit: 10, worker: "w1", nowMillis: t, visibilityMillis: 30_000)
            #expect(Set(fetched.map(\.id)) == Set(enqueued.map(\.id)))
            #expect(fetched.allSatisfy { $0.state == .running && $0.attempt == 1 })
            #expect(fetched.first { $0.id == enqueued[0].id }?.spec.args == #"{"n":1}"#)
            #expect(try await queue.job(enqueued[0].id)?.state == .running)
            // Held jobs are not handed out twice.
            #expect(try await queue.fetch(queue: "default", limit: 10, worker: "w2", nowMillis: t, visibilityMillis: 30_000).isEmpty)

            try await queue.complete(fetched.map(JobLease.init), nowMillis: t + 5)
            let done = try #require(try await queue.job(enqueued[0].id))
            #expect(done.state == .completed && done.finalizedAtMillis == t + 5 && done.attempt == 1)
            // Completing again, or failing after completion, changes nothing.
            try await queue.complete(fetched.map(JobLease.init), nowMillis: t + 9)
            try await queue.fail([decide(JobFailure(.permanent, "late"), fetched[0], now: t + 9)], nowMillis: t + 9)
            #expect(try await queue.job(enqueued[0].id) == done)
            #expect(try await queue.fetch(queue: "default", limit: 10, worker: "w1", nowMillis: t + 60_000, visibilityMillis: 30_000).isEmpty)
            let counts = try await queue.counts()
            #expect(counts == [JobCount(queue: "default", state: .completed, count: 2)])
        }
    }

    @Test(arguments: TestBackend.available)
    func uniqueKeysEnqueueOnce(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let key = JobSpec.uniqueKey(kind: "report", key: "daily", periodSeconds: 86_400, nowMillis: Self.t0)
            let first = try await storage.jobs.enqueue([JobSpec(kind: "report", uniqueKey: key), JobSpec(kind: "report", uniqueKey: key)], nowMillis: Self.t0)
            #expect(first[0].inserted && !first[1].inserted && first[0].id == first[1].id)
            let again = try await storage.jobs.enqueue([JobSpec(kind: "report", uniqueKey: key)], nowMillis: Self.t0 + 1)
            #expect(again == [EnqueuedJob(id: first[0].id, inserted: false)])
            let nextDay = JobSpec.uniqueKey(kind: "report", key: "daily", periodSeconds: 86_400, nowMillis: Self.t0 + 86_400_000)
            #expect(nextDay != key)
            #expect(try await storage.jobs.enqueue([JobSpec(kind: "report", uniqueKey: nextDay)], nowMillis: Self.t0 + 86_400_000)[0].inserted)
            let fetched = try await storage.jobs.fetch(queue: "default", limit: 10, worker: "w", nowMillis: Self.t0 + 86_400_000, visibilityMillis: 1_000)
            #expect(fetched.count == 2)
        }
    }

    @Test(arguments: TestBackend.available)
    func scheduledJobsWaitAndPrioritiesComeFirst(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let t = Self.t0
            let later = try await storage.jobs.enqueue([JobSpec(kind: "later", runAtMillis: t + 10_000)], nowMillis: t)[0].id
            #expect(try await storage.jobs.job(later)?.state == .scheduled)
            let low = try await storage.jobs.enqueue([JobSpec(kind: "low", priority: 4)], nowMillis: t)[0].id
            let high = try await storage.jobs.enqueue([JobSpec(kind: "high", priority: 1)], nowMillis: t + 1)[0].id
            let first = try await storage.jobs.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 2, visibilityMillis: 60_000)
            #expect(first.map(\.id) == [high])
            let second = try await storage.jobs.fetch(queue: "default", limit: 5, worker: "w", nowMillis: t + 2, visibilityMillis: 60_000)
            #expect(second.map(\.id) == [low])
            #expect(try await storage.jobs.fetch(queue: "default", limit: 5, worker: "w", nowMillis: t + 9_999, visibilityMillis: 60_000).isEmpty)
            let due = try await storage.jobs.fetch(queue: "default", limit: 5, worker: "w", nowMillis: t + 10_000, visibilityMillis: 60_000)
            #expect(due.map(\.id) == [later])
            // Other queues are separate.
            _ = try await storage.jobs.enqueue([JobSpec(kind: "x", queue: "webhooks")], nowMillis: t)
            #expect(try await storage.jobs.fetch(queue: "default", limit: 5, worker: "w", nowMillis: t + 20_000, visibilityMillis: 60_000).isEmpty)
            #expect(try await storage.jobs.fetch(queue: "webhooks", limit: 5, worker: "w", nowMillis: t + 20_000, visibilityMillis: 60_000).count == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func tenantsTakeTurns(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let noisy = try await tenant(storage, "noisy")
            let quiet = try await tenant(storage, "quiet")
            let t = Self.t0
            _ = try await storage.jobs.enqueue((0..<50).map { _ in JobSpec(kind: "n", tenant: noisy) }, nowMillis: t)
            let quietJobs = try await storage.jobs.enqueue((0..<2).map { _ in JobSpec(kind: "q", tenant: quiet) }, nowMillis: t + 1)
            let first = try await storage.jobs.fetch(queue: "default", limit: 4, worker: "w", nowMillis: t + 2, visibilityMillis: 60_000)
            #expect(first.count == 4)
            // The quiet tenant's jobs, enqueued behind fifty of the noisy one's, are in the first batch.
            #expect(Set(quietJobs.map(\.id)).isSubset(of: Set(first.map(\.id))), "\(first.map(\.spec.kind))")
        }
    }

    @Test(arguments: TestBackend.available)
    func failuresRetryThenDieAndReplay(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let queue = storage.jobs
            let t = Self.t0
            let id = try await queue.enqueue([JobSpec(kind: "flaky", maxAttempts: 2)], nowMillis: t)[0].id
            let one = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t, visibilityMillis: 60_000).first)
            try await queue.fail([decide(JobFailure(.retryable, "boom 1"), one, now: t + 1)], nowMillis: t + 1)
            let retrying = try #require(try await queue.job(id))
            #expect(retrying.state == .retryable && retrying.runAtMillis == t + 10_001)
            #expect(retrying.errors == [JobRecord.AttemptError(attempt: 1, atMillis: t + 1, message: "boom 1")])
            #expect(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 10_000, visibilityMillis: 60_000).isEmpty)

            let two = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 10_001, visibilityMillis: 60_000).first)
            #expect(two.attempt == 2)
            try await queue.fail([decide(JobFailure(.retryable, "boom 2"), two, now: t + 10_002)], nowMillis: t + 10_002)
            let dead = try #require(try await queue.job(id))
            #expect(dead.state == .dead && dead.attempt == 2 && dead.finalizedAtMillis == t + 10_002)
            #expect(dead.errors.map(\.message) == ["boom 1", "boom 2"])
            #expect(try await queue.jobs(JobFilter(states: [.dead]), limit: 10, after: nil).map(\.id) == [id])
            #expect(try await queue.jobs(JobFilter(states: [.dead], kind: "other"), limit: 10, after: nil).isEmpty)
            #expect(try await queue.counts().contains(JobCount(queue: "default", state: .dead, count: 1)))

            #expect(try await queue.replay(JobFilter(kind: "flaky"), nowMillis: t + 20_000) == 1)
            let replayed = try #require(try await queue.job(id))
            #expect(replayed.state == .available && replayed.attempt == 0 && replayed.errors.count == 2)
            let three = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 20_000, visibilityMillis: 60_000).first)
            #expect(three.id == id && three.attempt == 1)
            try await queue.fail([decide(JobFailure(.permanent, "bad input"), three, now: t + 20_001)], nowMillis: t + 20_001)
            #expect(try await queue.job(id)?.state == .dead)
            #expect(try await queue.purge(JobFilter(states: [.dead]), limit: 100) == 1)
            #expect(try await queue.job(id) == nil)
            #expect(try await queue.replay(JobFilter(), nowMillis: t + 30_000) == 0)
        }
    }

    @Test(arguments: TestBackend.available)
    func snoozeSpendsNoAttemptAndReleaseHandsBack(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let queue = storage.jobs
            let t = Self.t0
            let id = try await queue.enqueue([JobSpec(kind: "k", maxAttempts: 1)], nowMillis: t)[0].id
            let one = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t, visibilityMillis: 60_000).first)
            try await queue.fail([decide(JobFailure(.snooze(.seconds(5)), "breaker open"), one, now: t)], nowMillis: t)
            let snoozed = try #require(try await queue.job(id))
            #expect(snoozed.state == .scheduled && snoozed.attempt == 0 && snoozed.errors.isEmpty && snoozed.runAtMillis == t + 5_000)
            let two = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 5_000, visibilityMillis: 60_000).first)
            #expect(two.attempt == 1)
            try await queue.release([JobLease(two)], nowMillis: t + 5_001)
            #expect(try await queue.job(id)?.state == .available)
            let three = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w", nowMillis: t + 5_002, visibilityMillis: 60_000).first)
            #expect(three.attempt == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func lapsedJobsAreRescuedAndStaleLeasesIgnored(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let queue = storage.jobs
            let t = Self.t0
            let id = try await queue.enqueue([JobSpec(kind: "slow", maxAttempts: 3)], nowMillis: t)[0].id
            let held = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "dead-worker", nowMillis: t, visibilityMillis: 1_000).first)
            #expect(try await queue.heartbeat([JobLease(held)], nowMillis: t + 900, visibilityMillis: 1_000) == [id])
            #expect(try await queue.claimLapsed(nowMillis: t + 1_800, limit: 10, claimMillis: 5_000).isEmpty)
            let lapsed = try await queue.claimLapsed(nowMillis: t + 1_901, limit: 10, claimMillis: 5_000)
            #expect(lapsed.map(\.id) == [id] && lapsed.first?.attempt == 1)
            // Claimed: a second rescuer does not take it too.
            #expect(try await queue.claimLapsed(nowMillis: t + 2_000, limit: 10, claimMillis: 5_000).isEmpty)
            try await queue.fail([decide(JobFailure(.lapsed, "worker stopped heartbeating"), lapsed[0], now: t + 2_000)], nowMillis: t + 2_000)
            let rescued = try #require(try await queue.job(id))
            #expect(rescued.state == .retryable && rescued.errors.map(\.message) == ["worker stopped heartbeating"])

            // The old worker comes back: its heartbeat, completion and failure are all ignored.
            #expect(try await queue.heartbeat([JobLease(held)], nowMillis: t + 2_001, visibilityMillis: 1_000).isEmpty)
            let again = try #require(try await queue.fetch(queue: "default", limit: 1, worker: "w2", nowMillis: t + 12_000, visibilityMillis: 60_000).first)
            #expect(again.attempt == 2)
            try await queue.complete([JobLease(held)], nowMillis: t + 12_001)
            try await queue.fail([decide(JobFailure(.permanent, "stale"), held, now: t + 12_001)], nowMillis: t + 12_001)
            #expect(try await queue.job(id)?.state == .running)
            try await queue.complete([JobLease(again)], nowMillis: t + 12_002)
            #expect(try await queue.job(id)?.state == .completed)
        }
    }

    @Test(arguments: TestBackend.available)
    func cancelStopsAJobForItsTenantOnly(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let owner = try await tenant(storage, "owner")
            let other = try await tenant(storage, "other")
            let t = Self.t0
            let id = try await storage.jobs.enqueue([JobSpec(kind: "k", tenant: owner)], nowMillis: t)[0].id
            #expect(try await storage.jobs.cancel(id, tenant: other, nowMillis: t) == nil)
            #expect(try await storage.jobs.job(id)?.state == .available)
            let cancelled = try #require(try await storage.jobs.cancel(id, tenant: owner, nowMillis: t + 1))
            #expect(cancelled.state == .cancelled && cancelled.finalizedAtMillis == t + 1)
            #expect(try await storage.jobs.fetch(queue: "default", limit: 5, worker: "w", nowMillis: t + 2, visibilityMillis: 1_000).isEmpty)
            // Cancelling a finished job answers it unchanged.
            #expect(try await storage.jobs.cancel(id, tenant: nil, nowMillis: t + 3)?.finalizedAtMillis == t + 1)
            #expect(try await storage.jobs.jobs(JobFilter(tenant: other), limit: 10, after: nil).isEmpty)
            #expect(try await storage.jobs.jobs(JobFilter(tenant: owner), limit: 10, after: nil).map(\.id) == [id])
        }
    }

    @Test(arguments: TestBackend.available)
    func rateLimitedQueuesShareOneBucket(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let t = Self.t0
            let first = try await storage.jobs.takeStarts(queue: "slow", want: 8, perSecond: 5, nowMillis: t)
            #expect(first.granted == 5)
            // Another node asking at the same instant finds the bucket empty.
            let second = try await storage.jobs.takeStarts(queue: "slow", want: 8, perSecond: 5, nowMillis: t)
            #expect(second.granted == 0 && second.retryAfterMillis == 200)
            #expect(try await storage.jobs.takeStarts(queue: "slow", want: 8, perSecond: 5, nowMillis: t + 450).granted == 2)
            // Queues have buckets of their own.
            #expect(try await storage.jobs.takeStarts(queue: "other", want: 3, perSecond: 5, nowMillis: t).granted == 3)
        }
    }
}
