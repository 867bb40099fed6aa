import Core
import Logging
import Metering
import Metrics
import ServiceLifecycle
import Storage
import Synchronization

/// Group commit: concurrent appends share one ledger transaction.
///
/// Requests queue their entries; a committer loop takes everything queued (up to `maxEvents`)
/// and books it in a single transaction, then resumes every request with its own outcomes. No
/// timer adds latency: whatever queued while a transaction was committing goes into the next.
/// Up to `overlap.limit` loops (default 2) keep that many transactions in flight, a second one
/// only once enough is queued to be worth its own statement (`CommitOverlap`); the ledger
/// orders its row locks so concurrent groups cannot deadlock.
/// Each request is answered only after its transaction is durable. If a shared transaction
/// fails, the ledger is asked what it booked after all (a connection lost after the commit hides
/// a commit); if nothing, each request in it is retried alone, so one bad request cannot fail its
/// neighbours.
///
/// Every group is measured (`GroupCommitMetrics`): its events, how long its oldest request
/// queued before the group started, and how long its transaction took.
public final class GroupCommitter: LedgerAppender, Service {
    private struct Submission {
        var entries: [LedgerEntry]
        var continuation: CheckedContinuation<[AppendOutcome], any Error>
        var queuedAt: ContinuousClock.Instant
    }

    private struct State {
        var queue: [Submission] = []
        /// Events in `queue`.
        var queuedEvents = 0
        /// Groups being committed.
        var inFlight = 0
        /// Committer loops waiting for work.
        var waiting: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let ledger: any LedgerAppender
    private let maxEvents: Int
    /// How many transactions may be in flight, and when a second one starts.
    private let overlap: CommitOverlap
    private let logger: Logger
    private let metrics: GroupCommitMetrics

    public init(
        ledger: any LedgerAppender, maxEvents: Int = 20_000, overlap: CommitOverlap = CommitOverlap(), metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.ledger = ledger
        self.maxEvents = maxEvents
        self.overlap = overlap
        self.metrics = GroupCommitMetrics(factory: metrics)
        self.logger = logger
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        guard !entries.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let queuedAt = ContinuousClock.now
            let (accepted, wake) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.stopped else { return (false, nil) }
                state.queue.append(Submission(entries: entries, continuation: continuation, queuedAt: queuedAt))
                state.queuedEvents += entries.count
                guard overlap.mayStart(queuedEvents: state.queuedEvents, inFlight: state.inFlight) else { return (true, nil) }
                return (true, state.waiting.popLast())
            }
            if !accepted {
                continuation.resume(throwing: TallyError(.unavailable, "the server is shutting down; retry on another node"))
            }
            wake?.resume()
        }
    }

    /// Commits groups (`concurrency` loops) until graceful shutdown, then commits what is
    /// queued and stops.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { loops in
                for _ in 0..<overlap.limit {
                    loops.addTask {
                        while let group = await self.nextGroup() {
                            await self.commit(group)
                            self.state.withLock { $0.inFlight -= 1 }
                        }
                    }
                }
            }
        } onGracefulShutdown: { [self] in
            stop()
        }
    }

    /// Refuses new appends and lets the loops finish what is queued.
    private func stop() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for loop in waiting { loop.resume() }
    }

    /// Everything queued, up to `maxEvents` events (a single larger submission goes alone), once
    /// `overlap` lets it start (after shutdown began: at once); `nil` once stopped and drained.
    private func nextGroup() async -> [Submission]? {
        while true {
            let taken = state.withLock { state -> [Submission]? in
                guard !state.queue.isEmpty else { return state.stopped ? nil : [] }
                guard state.stopped || overlap.mayStart(queuedEvents: state.queuedEvents, inFlight: state.inFlight) else { return [] }
                var count = 0
                var end = 0
                while end < state.queue.count, end == 0 || count + state.queue[end].entries.count <= maxEvents {
                    count += state.queue[end].entries.count
                    end += 1
                }
                let group = Array(state.queue[..<end])
                state.queue.removeFirst(end)
                state.queuedEvents -= count
                state.inFlight += 1
                return group
            }
            guard let taken else { return nil }
            if !taken.isEmpty { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.stopped || overlap.mayStart(queuedEvents: state.queuedEvents, inFlight: state.inFlight) { return true }
                        state.waiting.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                stop()
            }
        }
    }

    public func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]? {
        try await ledger.outcomesOfFailedAppend(entries)
    }

    /// Appends `entries`; if that throws, asks the ledger what the append booked after all (a
    /// connection lost after the commit hides it) and answers that, so what a failed attempt
    /// booked is answered `accepted`, not `duplicate` by a retry (and counted by the quota). The
    /// append's error stands when it cannot have committed (`FailedAppend`), booked nothing, or
    /// the ledger cannot say.
    private func appendResolving(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        do {
            return try await ledger.append(entries)
        } catch {
            // `try?` flattens: nil when the ledger cannot say, or says nothing was booked.
            guard FailedAppend.mayHaveCommitted(error), let outcomes = try? await ledger.outcomesOfFailedAppend(entries) else { throw error }
            logger.warning("a ledger append failed after it committed; answered from the ledger", metadata: [
                "group.events": "\(entries.count)", "error": "\(error)",
            ])
            return outcomes
        }
    }

    private func commit(_ group: [Submission]) async {
        let started = ContinuousClock.now
        let entries = group.flatMap(\.entries)
        defer { metrics.record(events: entries.count, waited: started - group[0].queuedAt, took: ContinuousClock.now - started) }
        do {
            let outcomes = try await appendResolving(entries)
            var offset = 0
            for submission in group {
                submission.continuation.resume(returning: Array(outcomes[offset..<(offset + submission.entries.count)]))
                offset += submission.entries.count
            }
        } catch {
            guard group.count > 1 else {
                group[0].continuation.resume(throwing: error)
                return
            }
            logger.warning("a group commit failed; retrying its requests one by one", metadata: ["group.size": "\(group.count)", "error": "\(error)"])
            for submission in group {
                do {
                    submission.continuation.resume(returning: try await appendResolving(submission.entries))
                } catch {
                    submission.continuation.resume(throwing: error)
                }
            }
        }
    }
}
