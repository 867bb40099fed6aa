import Core
import Logging
import Scheduler
import ServiceLifecycle
import Storage
import Synchronization

/// Runs jobs: one fetch loop per queue, each with its own concurrency, taking jobs in batches
/// as slots free up; finished jobs are acknowledged in batches (one complete and one fail
/// call per flush, however many jobs finished meanwhile); a heartbeat loop keeps every held
/// job's visibility deadline ahead.
///
/// On graceful shutdown it stops fetching, gives running jobs until `drainTimeout` to finish,
/// then cancels the rest and hands them back to their queue without spending their attempt.
public final class WorkerPool: Service, Sendable {
    /// Queues, limits and timings.
    public struct Configuration: Sendable {
        /// Queue name and how many of its jobs run at once.
        public var queues: [String: Int]
        /// How long a held job survives without a heartbeat.
        public var visibility: Duration = .seconds(30)
        /// The most jobs one fetch takes.
        public var fetchBatch = 500
        /// This worker's name in job records (host and process).
        public var worker: String
        /// How long running jobs get to finish on shutdown.
        public var drainTimeout: Duration = .seconds(25)
        /// Finished jobs not yet acknowledged beyond which fetching pauses.
        public var maxUnacknowledged = 20_000
        /// Queues whose job starts are limited across all nodes, in jobs per second.
        public var rateLimits: [String: Int] = [:]

        public init(queues: [String: Int], worker: String) {
            self.queues = queues
            self.worker = worker
        }
    }

    /// What this pool has done, for tests, benchmarks and logs.
    public struct Counts: Sendable, Equatable {
        public var completed = 0
        public var failed = 0
        public var released = 0
        public var lost = 0
    }

    private struct Acks {
        var completed: [JobLease] = []
        var failed: [JobFailureReport] = []
        var released: [JobLease] = []
        var isEmpty: Bool { completed.isEmpty && failed.isEmpty && released.isEmpty }
        var count: Int { completed.count + failed.count + released.count }
    }

    public let configuration: Configuration
    private let queue: any JobQueue
    private let registry: JobRegistry
    private let clock: any TallyClock
    private let logger: Logger
    private let held = Mutex<[JobID: JobLease]>([:])
    private let acks = Mutex(Acks())
    private let counts = Mutex(Counts())
    private let ackSignal: AsyncStream<Void>
    private let ackContinuation: AsyncStream<Void>.Continuation
    private let finished = Atomic<Bool>(false)

    public init(queue: any JobQueue, registry: JobRegistry, configuration: Configuration, clock: any TallyClock = SystemClock(), logger: Logger) {
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        (ackSignal, ackContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// What the pool has done so far.
    public var done: Counts { counts.withLock { $0 } }

    public func run() async throws {
        logger.info("workers started", metadata: ["worker": "\(configuration.worker)", "queues": "\(configuration.queues.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"])
        await withDiscardingTaskGroup { group in
            group.addTask { await self.acknowledgeLoop() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask {
                await withDiscardingTaskGroup { loops in
                    for (name, concurrency) in self.configuration.queues {
                        loops.addTask { await self.serve(queue: name, concurrency: concurrency) }
                    }
                }
                self.logger.info("fetch loops stopped; acknowledging what finished", metadata: ["jobs.unacknowledged": "\(self.acks.withLock { $0.count })"])
                self.finished.store(true, ordering: .sequentiallyConsistent)
                self.ackContinuation.yield()
            }
        }
        logger.info("workers stopped", metadata: ["worker": "\(configuration.worker)", "jobs.completed": "\(done.completed)", "jobs.failed": "\(done.failed)"])
    }

    private var nowMillis: Int64 { clock.nowMillis }
    private var visibilityMillis: Int64 { configuration.visibility.totalMilliseconds }

    // MARK: Fetching and running

    private func serve(queue name: String, concurrency: Int) async {
        let slots = WorkerSlots(capacity: concurrency)
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                var failures = 0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let free = await slots.waitForFree()
                    guard free > 0, !Task.isShuttingDownGracefully else { break }
                    if acks.withLock({ $0.count }) > configuration.maxUnacknowledged {
                        try? await Task.sleep(for: .milliseconds(5))
                        continue
                    }
                    let jobs: [JobRecord]
                    do {
                        var limit = min(free, configuration.fetchBatch)
                        // One instant for the token bucket and the fetch, so a job's start time is its token's.
                        let now = nowMillis
                        if let perSecond = configuration.rateLimits[name] {
                            let (granted, wait) = try await queue.takeStarts(queue: name, want: limit, perSecond: perSecond, nowMillis: now)
                            guard granted > 0 else {
                                try? await Task.sleep(for: .milliseconds(max(1, min(wait, 1_000))))
                                continue
                            }
                            limit = granted
                        }
                        jobs = try await queue.fetch(queue: name, limit: limit, worker: configuration.worker, nowMillis: now, visibilityMillis: visibilityMillis)
                        failures = 0
                    } catch {
                        failures += 1
                        logger.warning("could not fetch jobs", metadata: ["queue": "\(name)", "error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
                        continue
                    }
                    if jobs.isEmpty {
                        do { try await queue.waitForWork(queue: name, timeoutMillis: 1_000, nowMillis: nowMillis) } catch { try? await Task.sleep(for: .seconds(1)) }
                        continue
                    }
                    slots.take(jobs.count)
                    held.withLock { held in for job in jobs { held[job.id] = JobLease(job) } }
                    for job in jobs {
                        group.addTask {
                            await self.execute(job)
                            slots.release()
                        }
                    }
                }
            } onGracefulShutdown: {
                slots.interrupt()
            }
            logger.info("stopped fetching", metadata: ["queue": "\(name)", "jobs.running": "\(slots.busy)"])
            // Draining: running jobs get until the deadline; then they are cancelled and released.
            if !(await slots.waitUntilIdle(timeout: configuration.drainTimeout)) {
                logger.warning("jobs still running at the shutdown deadline are handed back", metadata: ["queue": "\(name)", "jobs": "\(slots.busy)"])
                group.cancelAll()
            }
        }
    }

    private func execute(_ job: JobRecord) async {
        let lease = JobLease(job)
        guard let handler = registry.handler(for: job.spec.kind) else {
            return report(lease, job, failure: JobFailure(.retryable, "no handler for job kind '\(job.spec.kind)' on this worker"), backoff: .standard)
        }
        do {
            try await handler.run(job)
            acks.withLock { $0.completed.append(lease) }
            ackContinuation.yield()
        } catch where Task.isCancelled {
            acks.withLock { $0.released.append(lease) }
            ackContinuation.yield()
        } catch {
            report(lease, job, failure: JobError.failure(for: error), backoff: handler.backoff)
        }
    }

    private func report(_ lease: JobLease, _ job: JobRecord, failure: JobFailure, backoff: JobBackoff) {
        var generator = SystemRandomNumberGenerator()
        let decision = failure.decide(attempt: job.attempt, maxAttempts: job.spec.maxAttempts, backoff: backoff, nowMillis: nowMillis, using: &generator)
        if decision.event == .failFinal {
            logger.warning("job failed for good", metadata: ["job.id": "\(job.id)", "job.kind": "\(job.spec.kind)", "job.attempt": "\(job.attempt)", "error": "\(failure.message)"])
        }
        acks.withLock { $0.failed.append(JobFailureReport(lease: lease, decision: decision, message: failure.message)) }
        ackContinuation.yield()
    }

    // MARK: Acknowledging

    private func acknowledgeLoop() async {
        for await _ in ackSignal {
            await flush()
            if finished.load(ordering: .sequentiallyConsistent) {
                await flush()
                break
            }
        }
    }

    /// Sends every finished job's outcome; on a storage error keeps them and retries, so an
    /// outcome is never dropped while the process lives (if it dies, the rescuer takes over).
    private func flush() async {
        var attempt = 0
        while true {
            let batch = acks.withLock { acks in
                defer { acks = Acks() }
                return acks
            }
            guard !batch.isEmpty else { return }
            do {
                let now = nowMillis
                try await queue.complete(batch.completed, nowMillis: now)
                try await queue.fail(batch.failed, nowMillis: now)
                try await queue.release(batch.released, nowMillis: now)
                held.withLock { held in
                    for lease in batch.completed { held[lease.id] = nil }
                    for report in batch.failed { held[report.lease.id] = nil }
                    for lease in batch.released { held[lease.id] = nil }
                }
                counts.withLock { counts in
                    counts.completed += batch.completed.count
                    counts.failed += batch.failed.count
                    counts.released += batch.released.count
                }
                attempt = 0
            } catch {
                // Put them back (a repeat is harmless: every call ignores leases no longer held).
                acks.withLock { acks in
                    acks.completed = batch.completed + acks.completed
                    acks.failed = batch.failed + acks.failed
                    acks.released = batch.released + acks.released
                }
                attempt += 1
                logger.warning("could not acknowledge finished jobs; retrying", metadata: ["jobs": "\(batch.count)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(2_000, 50 << min(attempt, 6))))
                if finished.load(ordering: .sequentiallyConsistent) && attempt > 10 { return }
            }
        }
    }

    // MARK: Heartbeats

    private func heartbeatLoop() async {
        let interval = configuration.visibility / 3
        while !finished.load(ordering: .sequentiallyConsistent) {
            try? await Task.sleep(for: min(interval, .milliseconds(500)))
            guard !finished.load(ordering: .sequentiallyConsistent) else { break }
            // Sleep in short steps so shutdown is not held up, but beat every interval.
            if !isDue(interval) { continue }
            let leases = Array(held.withLock { $0.values })
            guard !leases.isEmpty else { continue }
            do {
                let kept = try await queue.heartbeat(leases, nowMillis: nowMillis, visibilityMillis: visibilityMillis)
                let lost = leases.filter { !kept.contains($0.id) }
                guard !lost.isEmpty else { continue }
                // Finished meanwhile, cancelled, or rescued after a stall: no longer ours.
                let stillHeld = held.withLock { held in lost.filter { held[$0.id] != nil } }
                if !stillHeld.isEmpty {
                    counts.withLock { $0.lost += stillHeld.count }
                    logger.info("jobs no longer held by this worker", metadata: ["jobs": "\(stillHeld.count)"])
                }
            } catch {
                logger.warning("could not send job heartbeats", metadata: ["error": "\(error)"])
            }
        }
    }

    private let lastBeat = Mutex<ContinuousClock.Instant>(.now)

    private func isDue(_ interval: Duration) -> Bool {
        lastBeat.withLock { last in
            guard ContinuousClock.now - last >= interval else { return false }
            last = .now
            return true
        }
    }
}
