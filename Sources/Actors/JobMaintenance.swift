import Core
import Logging
import Scheduler
import ServiceLifecycle
import Storage

/// The queue's upkeep, safe to run on every node at once: the rescuer (every second, takes
/// running jobs whose worker stopped heartbeating and retries or buries them by their kind's
/// rules), the reconciler (re-dispatches jobs the dispatcher lost), and retention (deletes
/// completed and cancelled jobs after their retention, and dead ones only if a dead-job
/// retention is set).
public final class JobMaintenance: Service, Sendable {
    /// Intervals and retention.
    public struct Configuration: Sendable {
        public var rescueInterval: Duration = .seconds(1)
        public var reconcileInterval: Duration = .seconds(30)
        /// Jobs changed more recently than this are left to their producer's own dispatch.
        public var reconcileGrace: Duration = .seconds(15)
        public var retentionInterval: Duration = .seconds(60)
        public var completedRetention: Duration = .seconds(86_400)
        /// `nil` keeps dead jobs until an operator purges them.
        public var deadRetention: Duration?

        public init() {}
    }

    private let queue: any JobQueue
    private let registry: JobRegistry
    private let configuration: Configuration
    private let clock: any TallyClock
    private let logger: Logger

    public init(queue: any JobQueue, registry: JobRegistry, configuration: Configuration = Configuration(), clock: any TallyClock = SystemClock(), logger: Logger) {
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    private var nowMillis: Int64 { clock.nowMillis }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.every(self.configuration.rescueInterval) { _ = try await self.rescue() } }
            group.addTask { await self.every(self.configuration.reconcileInterval) { _ = try await self.reconcile() } }
            group.addTask { await self.every(self.configuration.retentionInterval) { _ = try await self.applyRetention() } }
        }
        logger.info("job maintenance stopped")
    }

    private func every(_ interval: Duration, _ body: @escaping @Sendable () async throws -> Void) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Shutdown does not wait for a round in progress: every round is safe to abandon.
                try await cancelWhenGracefulShutdown { try await body() }
            } catch where Task.isShuttingDownGracefully || Task.isCancelled {
                break
            } catch {
                logger.warning("job maintenance failed; trying again next round", metadata: ["error": "\(error)"])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
        }
    }

    /// Retries or buries running jobs whose visibility deadline passed; answers how many.
    @discardableResult
    public func rescue() async throws -> Int {
        var total = 0
        while true {
            let now = nowMillis
            let lapsed = try await queue.claimLapsed(nowMillis: now, limit: 500, claimMillis: 60_000)
            guard !lapsed.isEmpty else { break }
            var generator = SystemRandomNumberGenerator()
            let reports = lapsed.map { job in
                let failure = JobFailure(.lapsed, "the worker stopped heartbeating (it died or hung) during attempt \(job.attempt)")
                return JobFailureReport(
                    lease: JobLease(job),
                    decision: failure.decide(attempt: job.attempt, maxAttempts: job.spec.maxAttempts, backoff: registry.backoff(for: job.spec.kind),
                                             nowMillis: now, using: &generator),
                    message: failure.message
                )
            }
            try await queue.fail(reports, nowMillis: now)
            total += lapsed.count
            if lapsed.count < 500 { break }
        }
        if total > 0 { logger.info("rescued jobs from workers that stopped heartbeating", metadata: ["jobs": "\(total)"]) }
        return total
    }

    /// Re-dispatches jobs the dispatcher lost; answers how many.
    @discardableResult
    public func reconcile() async throws -> Int {
        let grace = configuration.reconcileGrace.totalMilliseconds
        let restored = try await queue.reconcile(nowMillis: nowMillis, graceMillis: grace)
        if restored > 0 { logger.warning("re-dispatched jobs the queue had lost", metadata: ["jobs": "\(restored)"]) }
        return restored
    }

    /// Deletes finished jobs past their retention; answers how many.
    @discardableResult
    public func applyRetention() async throws -> Int {
        let now = nowMillis
        var total = 0
        var rules: [(JobFilter, Duration)] = [(JobFilter(states: [.completed, .cancelled]), configuration.completedRetention)]
        if let dead = configuration.deadRetention { rules.append((JobFilter(states: [.dead]), dead)) }
        for (var filter, retention) in rules {
            filter.finishedBeforeMillis = now - retention.totalMilliseconds
            while true {
                let deleted = try await queue.purge(filter, limit: 1_000)
                total += deleted
                if deleted < 1_000 || Task.isCancelled || Task.isShuttingDownGracefully { break }
            }
        }
        if total > 0 { logger.debug("deleted finished jobs past their retention", metadata: ["jobs": "\(total)"]) }
        return total
    }
}
