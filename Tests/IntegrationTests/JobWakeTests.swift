import Core
import Scheduler
import Storage
import TallyTestSupport
import Testing

/// The embedded queue's wake-up: idle workers wait long (a minute here) and are woken by what
/// this process does to the file, not by polling. Each wait below would last its full timeout
/// if the wake-up were missing; the bounds are that timeout's halves, nowhere near a speed claim.
@Suite struct JobWakeTests {
    static let long = Duration.seconds(60)

    /// Runs `wait` in a task, then `act` once the wait has begun, and returns how long the wait took.
    static func elapsed(waiting wait: @escaping @Sendable () async throws -> Void, while act: () async throws -> Void) async throws -> Duration {
        let started = ContinuousClock.now
        let waiter = Task { try await wait(); return ContinuousClock.now - started }
        try await Task.sleep(for: .milliseconds(100))
        try await act()
        return try await waiter.value
    }

    @Test func aSignalWakesAWaiterAndASignalSinceItLookedIsNotMissed() async throws {
        let wake = JobWake()
        wake.looked(at: "default")
        let woken = try await Self.elapsed(waiting: { await wake.wait(queue: "default", timeout: Self.long) }) { wake.signal() }
        #expect(woken < .seconds(30))

        // A signal between the look (the fetch that found nothing) and the wait: no wait at all.
        wake.looked(at: "default")
        wake.signal()
        let started = ContinuousClock.now
        await wake.wait(queue: "default", timeout: Self.long)
        #expect(ContinuousClock.now - started < .seconds(30))

        // Without a signal the timeout ends it.
        wake.looked(at: "default")
        let quiet = ContinuousClock.now
        await wake.wait(queue: "default", timeout: .milliseconds(50))
        #expect(ContinuousClock.now - quiet >= .milliseconds(50))
    }

    @Test func aCancelledWaitReturns() async throws {
        let wake = JobWake()
        wake.looked(at: "q")
        let waiter = Task { await wake.wait(queue: "q", timeout: Self.long) }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - cancelled < .seconds(30))
    }

    /// On a real file: an enqueue, a retry falling due and a scheduled job each end an idle
    /// worker's wait; a fetch that finds the job follows.
    @Test func theEmbeddedQueueWakesForEnqueuesAndJobsFallingDue() async throws {
        try await TestBackend.sqlite.withBackend { storage, _ in
            let queue = try #require(storage.jobs as? SQLiteJobQueue)
            let now: @Sendable () -> Int64 = { SystemClock().nowMillis }
            #expect(try await queue.fetch(queue: "wake", limit: 1, worker: "w", nowMillis: now(), visibilityMillis: 60_000).isEmpty)
            let enqueued = try await Self.elapsed(waiting: { try await queue.waitForWork(queue: "wake", timeoutMillis: 60_000, nowMillis: now()) }) {
                _ = try await queue.enqueue([JobSpec(kind: "tally.noop", queue: "wake")], nowMillis: now())
            }
            #expect(enqueued < .seconds(30), "the enqueue woke the worker")
            let job = try #require(try await queue.fetch(queue: "wake", limit: 1, worker: "w", nowMillis: now(), visibilityMillis: 60_000).first)

            // A job scheduled 2 s ahead: the wait ends when it falls due, with no signal. (The
            // wait is measured from the worker's now, so a slow machine cannot make it longer.)
            let scheduledAt = now()
            _ = try await queue.enqueue([JobSpec(kind: "tally.noop", queue: "later", runAtMillis: scheduledAt + 2_000)], nowMillis: scheduledAt)
            #expect(try await queue.fetch(queue: "later", limit: 1, worker: "w", nowMillis: scheduledAt, visibilityMillis: 60_000).isEmpty)
            let due = ContinuousClock.now
            try await queue.waitForWork(queue: "later", timeoutMillis: 60_000, nowMillis: scheduledAt)
            let waited = ContinuousClock.now - due
            #expect(waited < .seconds(30), "\(waited)")
            #expect(now() >= scheduledAt + 2_000, "not before it fell due")
            #expect(try await queue.fetch(queue: "later", limit: 1, worker: "w", nowMillis: now(), visibilityMillis: 60_000).count == 1)

            // A job that fell due between the fetch and the wait (here: scheduled in the past
            // of the worker's clock) ends the wait at once.
            let fetchedAt = now()
            _ = try await queue.enqueue([JobSpec(kind: "tally.noop", queue: "late", runAtMillis: fetchedAt + 5_000)], nowMillis: fetchedAt)
            let late = ContinuousClock.now
            try await queue.waitForWork(queue: "late", timeoutMillis: 60_000, nowMillis: fetchedAt + 6_000)
            #expect(ContinuousClock.now - late < .seconds(30))

            // A failed attempt scheduled for a retry wakes the queue's workers too.
            let retried = try await Self.elapsed(waiting: { try await queue.waitForWork(queue: "wake", timeoutMillis: 60_000, nowMillis: now()) }) {
                let decision = JobFailure.Decision(event: .failRetryable, runAtMillis: now(), attempt: 1)
                try await queue.fail([JobFailureReport(lease: JobLease(job), decision: decision, message: "again")], nowMillis: now())
            }
            #expect(retried < .seconds(30))
        }
    }
}
