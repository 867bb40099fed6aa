import Metering
import Storage
import Synchronization

/// A real ledger with the faults of a connection lost at the commit: its first `failures`
/// appends throw, after committing (`lostAfterCommit`, the ambiguous case) or before, and its
/// first `silentAsks` asks of what a failed append booked throw too (the database still
/// unreachable). The ledger is given at once or, where a server builds it, through `wrapping`.
public final class LosingLedger: LedgerAppender, Sendable {
    /// The error its faults throw.
    public struct Lost: Error {
        public init() {}
    }

    struct State {
        var ledger: (any LedgerStore)?
        var failures: Int
        var silentAsks: Int
        var appends: [Int] = []
        var asks = 0
    }

    let lostAfterCommit: Bool
    private let state: Mutex<State>

    public init(_ ledger: (any LedgerStore)? = nil, lostAfterCommit: Bool, failures: Int, silentAsks: Int = 0) {
        self.lostAfterCommit = lostAfterCommit
        state = Mutex(State(ledger: ledger, failures: failures, silentAsks: silentAsks))
    }

    /// Puts `ledger` behind these faults; returns them.
    public func wrapping(_ ledger: any LedgerStore) -> any LedgerAppender {
        state.withLock { $0.ledger = ledger }
        return self
    }

    /// The sizes of the appends asked of it, in order.
    public var appends: [Int] { state.withLock { $0.appends } }
    /// How many times it was asked what a failed append booked.
    public var asks: Int { state.withLock { $0.asks } }

    private func inner() throws -> any LedgerStore {
        guard let ledger = state.withLock({ $0.ledger }) else { throw TestSetupError("no ledger yet") }
        return ledger
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        let fail = state.withLock { state in
            state.appends.append(entries.count)
            defer { state.failures = max(state.failures - 1, 0) }
            return state.failures > 0
        }
        guard fail else { return try await inner().append(entries) }
        if lostAfterCommit { _ = try await inner().append(entries) }
        throw Lost()
    }

    public func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]? {
        let silent = state.withLock { state in
            state.asks += 1
            return state.asks <= state.silentAsks
        }
        if silent { throw Lost() }
        return try await inner().outcomesOfFailedAppend(entries)
    }
}
