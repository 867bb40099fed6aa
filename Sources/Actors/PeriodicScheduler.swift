import Core
import Logging
import Scheduler
import ServiceLifecycle
import Storage

/// Enqueues periodic jobs when their ticks come. Every node may run it: a tick's job has a
/// unique key, so the job store lets exactly one enqueue per tick through however many nodes
/// try (no leader to elect, nothing lost when a node dies). After a pause only the latest
/// missed tick of each job runs.
public final class PeriodicScheduler: Service, Sendable {
    private let queue: any JobQueue
    private let jobs: [PeriodicJob]
    private let clock: any TallyClock
    private let logger: Logger
    /// How far back a node that just started looks for a missed tick.
    private let lookBack: Int64

    public init(queue: any JobQueue, jobs: [PeriodicJob], clock: any TallyClock = SystemClock(), lookBackSeconds: Int64 = 300, logger: Logger) {
        self.queue = queue
        self.jobs = jobs
        self.clock = clock
        self.lookBack = lookBackSeconds
        self.logger = logger
    }

    private var nowSeconds: Int64 { clock.nowSeconds }

    /// Enqueues the latest tick of each job in `(since, now]`; answers how many ticks this call
    /// added (others may have been added by other nodes first).
    @discardableResult
    public func tick(since: Int64, now: Int64) async throws -> Int {
        var due: [JobSpec] = []
        for job in jobs {
            guard let tick = job.schedule.latest(atOrBefore: now, notBefore: since + 1) else { continue }
            due.append(job.job(tickSeconds: tick))
        }
        guard !due.isEmpty else { return 0 }
        return try await queue.enqueue(due, nowMillis: now * 1_000).filter(\.inserted).count
    }

    public func run() async throws {
        // Returning early would stop the whole service group: with nothing to schedule, wait.
        guard !jobs.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        logger.info("periodic jobs scheduled", metadata: ["jobs": "\(jobs.map { "\($0.name) (\($0.schedule))" }.joined(separator: ", "))"])
        var checked = nowSeconds - lookBack
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = nowSeconds
            do {
                let added = try await tick(since: checked, now: now)
                if added > 0 { logger.debug("enqueued periodic jobs", metadata: ["jobs": "\(added)"]) }
                checked = now
            } catch {
                logger.warning("could not enqueue periodic jobs; trying again", metadata: ["error": "\(error)"])
            }
            // Wake for the earliest next tick (at most a minute away, at least a second).
            let next = jobs.map { $0.schedule.next(after: now) }.min() ?? now + 60
            let wait = max(1, min(60, next - nowSeconds))
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) } } catch { break }
        }
    }
}
