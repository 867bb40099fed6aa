import Synchronization

/// A worker loop's concurrency limit: how many of its jobs may run at once. The loop waits
/// for a free slot before it fetches; shutdown wakes it; draining waits until every slot is
/// free again (or a deadline passes).
final class WorkerSlots: Sendable {
    private struct State {
        var busy = 0
        var interrupted = false
        var freeWaiter: CheckedContinuation<Int, Never>?
        var idleWaiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
        var expired: Set<Int> = []
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Waits until at least one slot is free and answers how many (0 once interrupted).
    func waitForFree() async -> Int {
        await withCheckedContinuation { continuation in
            let ready: Int? = state.withLock { state in
                if state.interrupted { return 0 }
                if state.busy < capacity { return capacity - state.busy }
                state.freeWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Marks `count` slots busy.
    func take(_ count: Int) {
        state.withLock { $0.busy += count }
    }

    /// Frees one slot, waking the loop (and drainers once all are free).
    func release() {
        let (free, freeCount, idle): (CheckedContinuation<Int, Never>?, Int, [CheckedContinuation<Bool, Never>]) = state.withLock { state in
            state.busy -= 1
            let free = state.freeWaiter
            state.freeWaiter = nil
            var idle: [CheckedContinuation<Bool, Never>] = []
            if state.busy == 0 {
                idle = Array(state.idleWaiters.values)
                state.idleWaiters.removeAll()
            }
            return (free, capacity - state.busy, idle)
        }
        free?.resume(returning: freeCount)
        for waiter in idle { waiter.resume(returning: true) }
    }

    var busy: Int { state.withLock { $0.busy } }

    /// Stops the loop's waiting for a slot (shutdown).
    func interrupt() {
        let waiter = state.withLock { state in
            state.interrupted = true
            defer { state.freeWaiter = nil }
            return state.freeWaiter
        }
        waiter?.resume(returning: 0)
    }

    var isInterrupted: Bool { state.withLock { $0.interrupted } }

    /// Waits until no slot is busy; `false` when `timeout` passed first.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            self?.expire(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let answer: Bool? = state.withLock { state in
                if state.busy == 0 { return true }
                if state.expired.remove(id) != nil { return false }
                state.idleWaiters[id] = continuation
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { state in
            guard let waiter = state.idleWaiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil as CheckedContinuation<Bool, Never>?
            }
            return waiter
        }
        waiter?.resume(returning: false)
    }
}
