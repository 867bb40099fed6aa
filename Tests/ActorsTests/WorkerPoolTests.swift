import Actors
import Core
import Foundation
import Logging
import Scheduler
import ServiceLifecycle
import Storage
import Synchronization
import TallyTestSupport
import Testing

/// Records every run of its kind; fails the first `failFirst` attempts of each job.
final class RecordingJob: JobHandler, Sendable {
    let kind: String
    let failFirst: Int
    let backoff = JobBackoff.schedule([.milliseconds(10)])
    let runs = Mutex<[JobID]>([])

    init(kind: String, failFirst: Int = 0) {
        self.kind = kind
        self.failFirst = failFirst
    }

    func run(_ job: JobRecord) async throws {
        runs.withLock { $0.append(job.id) }
        if job.attempt <= failFirst { throw FlakyError() }
    }

    struct FlakyError: Error, CustomStringConvertible { var description: String { "flaky on purpose" } }
}

/// Notes when each of its jobs was fetched (the instant the queue's token bucket charged,
/// which a starved machine cannot bunch up the way it can delay the handlers themselves).
final class StampingJob: JobHandler, Sendable {
    let kind = "test.stamp"
    let fetchedAt = Mutex<[Int64]>([])
    func run(_ job: JobRecord) async throws { fetchedAt.withLock { $0.append(job.updatedAtMillis) } }
}

@Suite struct WorkerPoolTests {
    static var nowMillis: Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    /// Runs the pool until `done` holds (or 30 s pass), then shuts it down gracefully.
    func run(_ pool: WorkerPool, until done: @escaping @Sendable () async throws -> Bool) async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: pool)], logger: TestBackend.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if try await done() { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test(arguments: TestBackend.available)
    func everyJobRunsOnceAndFailuresFollowTheirRules(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let counted = RecordingJob(kind: "test.count")
            let flaky = RecordingJob(kind: "test.flaky", failFirst: 1)
            let registry = JobRegistry([counted, flaky])
            let now = Self.nowMillis
            let ids = try await storage.jobs.enqueue((0..<300).map { _ in JobSpec(kind: "test.count") }, nowMillis: now).map(\.id)
            let flakyID = try await storage.jobs.enqueue([JobSpec(kind: "test.flaky", maxAttempts: 3)], nowMillis: now)[0].id
            let failID = try await storage.jobs.enqueue([JobSpec(kind: "tally.fail", args: #"{"permanent":true,"message":"no way"}"#)], nowMillis: now)[0].id
            let unknownID = try await storage.jobs.enqueue([JobSpec(kind: "test.unknown", maxAttempts: 1)], nowMillis: now)[0].id

            var configuration = WorkerPool.Configuration(queues: ["default": 8], worker: "test-worker")
            configuration.fetchBatch = 50
            let pool = WorkerPool(queue: storage.jobs, registry: registry, configuration: configuration, logger: TestBackend.logger)
            try await run(pool) {
                let states = try await [flakyID, failID, unknownID].asyncMap { try await storage.jobs.job($0)?.state }
                return pool.done.completed >= 301 && states == [.completed, .dead, .dead]
            }

            let runs = counted.runs.withLock { $0 }
            #expect(runs.count == 300 && Set(runs) == Set(ids))
            for id in ids.prefix(20) { #expect(try await storage.jobs.job(id)?.state == .completed) }
            let flakyJob = try #require(try await storage.jobs.job(flakyID))
            #expect(flakyJob.state == .completed && flakyJob.attempt == 2 && flakyJob.errors.map(\.message) == ["flaky on purpose"])
            #expect(flaky.runs.withLock { $0 } == [flakyID, flakyID])
            #expect(try await storage.jobs.job(failID)?.errors.map(\.message) == ["no way"])
            #expect(try await storage.jobs.job(unknownID)?.lastError?.contains("no handler for job kind 'test.unknown'") == true)
            #expect(pool.done.completed == 301 && pool.done.failed == 3)
        }
    }

    @Test(arguments: TestBackend.available)
    func shutdownFinishesShortJobsAndHandsLongOnesBack(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let now = Self.nowMillis
            let short = try await storage.jobs.enqueue([JobSpec(kind: "tally.sleep", args: #"{"ms":300}"#)], nowMillis: now)[0].id
            let long = try await storage.jobs.enqueue([JobSpec(kind: "tally.sleep", args: #"{"ms":60000}"#)], nowMillis: now)[0].id
            var configuration = WorkerPool.Configuration(queues: ["default": 4], worker: "test-worker")
            configuration.drainTimeout = .seconds(2)
            let pool = WorkerPool(queue: storage.jobs, registry: JobRegistry(), configuration: configuration, logger: TestBackend.logger)
            try await run(pool) {
                let shortState = try await storage.jobs.job(short)?.state
                let longState = try await storage.jobs.job(long)?.state
                return shortState == .running && longState == .running
            }
            #expect(try await storage.jobs.job(short)?.state == .completed)
            let handedBack = try #require(try await storage.jobs.job(long))
            #expect(handedBack.state == .available && handedBack.attempt == 0 && handedBack.errors.isEmpty)
            #expect(pool.done.released == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func aRateLimitedQueueNeverStartsMoreThanItsRate(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let stamping = StampingJob()
            _ = try await storage.jobs.enqueue((0..<12).map { _ in JobSpec(kind: "test.stamp", queue: "slow") }, nowMillis: Self.nowMillis)
            var configuration = WorkerPool.Configuration(queues: ["slow": 8], worker: "rate-worker")
            configuration.rateLimits = ["slow": 5]
            let pool = WorkerPool(queue: storage.jobs, registry: JobRegistry([stamping]), configuration: configuration, logger: TestBackend.logger)
            try await run(pool) { pool.done.completed >= 12 }
            let times = stamping.fetchedAt.withLock { $0 }.sorted()
            #expect(times.count == 12)
            // However slow or fast the machine, no one-second span holds more than a burst (5) and a second's refill (5).
            for (index, start) in times.enumerated() {
                let inWindow = times[index...].prefix { $0 - start < 1_000 }.count
                #expect(inWindow <= 10, "\(inWindow) starts within a second: \(times)")
            }
            // And 12 starts at 5 a second took at least (12 - 5) / 5 seconds after the first.
            #expect(times.last! - times.first! >= 1_400, "\(times)")
        }
    }

    @Test(arguments: TestBackend.available)
    func theRescuerRetriesJobsOfDeadWorkersByTheirKindsRules(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let clock = ManualClock(Date())
            let now = Int64(clock.now().timeIntervalSince1970 * 1_000)
            let ids = try await storage.jobs.enqueue([JobSpec(kind: "test.flaky", maxAttempts: 2), JobSpec(kind: "test.flaky", maxAttempts: 1)], nowMillis: now).map(\.id)
            // A worker takes both, then dies: no heartbeats, no outcome.
            #expect(try await storage.jobs.fetch(queue: "default", limit: 5, worker: "doomed", nowMillis: now, visibilityMillis: 5_000).count == 2)
            let maintenance = JobMaintenance(queue: storage.jobs, registry: JobRegistry([RecordingJob(kind: "test.flaky")]), clock: clock, logger: TestBackend.logger)
            #expect(try await maintenance.rescue() == 0)
            clock.advance(6)
            #expect(try await maintenance.rescue() == 2)
            let retried = try #require(try await storage.jobs.job(ids[0]))
            #expect(retried.state == .retryable && retried.runAtMillis == now + 6_000 + 10)
            #expect(retried.lastError?.contains("stopped heartbeating") == true)
            #expect(try await storage.jobs.job(ids[1])?.state == .dead)
            #expect(try await maintenance.rescue() == 0)
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
