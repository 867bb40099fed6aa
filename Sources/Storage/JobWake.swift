import Synchronization

/// Wakes the embedded queue's idle workers in this process when a job may have become ready,
/// so they need not poll the file often: an enqueue, a retry scheduled, a job released or
/// replayed. A signal is sent from inside the writer's transaction that made the change (an
/// insert into a caller's outbox transaction) or just after it; either way a woken worker's
/// fetch takes the writer only after that transaction has ended, so it sees the change once
/// committed (or nothing, if it rolled back). Another process writing the same file (`tally worker`, the CLI) sends no
/// signal here: its jobs are found by the next poll.
///
/// A worker notes the signal count when it looks at its queue (`looked(at:)`, before its
/// fetch), and `wait` returns at once if a signal came since: a job enqueued between an empty
/// fetch and the wait is not missed.
public final class JobWake: Sendable {
    private struct State {
        var signals: UInt64 = 0
        var seen: [String: UInt64] = [:]
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var lastWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A job may have become ready: every waiting worker wakes.
    public func signal() {
        let woken = state.withLock { state in
            state.signals &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Notes that `queue` is being looked at now.
    public func looked(at queue: String) {
        state.withLock { $0.seen[queue] = $0.signals }
    }

    /// Returns after a signal since `queue` was last looked at, or after `timeout`.
    public func wait(queue: String, timeout: Duration) async {
        let seen = state.withLock { $0.seen[queue] ?? $0.signals }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.signalled(since: seen) }
            await group.next()
            group.cancelAll()
        }
    }

    private func signalled(since seen: UInt64) async {
        let id = state.withLock { state -> Int in
            state.lastWaiter += 1
            return state.lastWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.signals != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
