import Synchronization

/// How many events of failed appends this node is still asking the ledger about, bounded. Past
/// `limit`, a failed append's charges are released at once (as if it booked nothing), so an
/// outage that fails every request costs bounded memory and a bounded number of asks.
final class FailedAppendBacklog: Sendable {
    let limit: Int
    private let waiting = Mutex(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes room for `count` events; `false` when that would pass the limit.
    func admit(_ count: Int) -> Bool {
        waiting.withLock { waiting in
            guard waiting + count <= limit else { return false }
            waiting += count
            return true
        }
    }

    /// Gives back the room `admit` took.
    func done(_ count: Int) {
        waiting.withLock { $0 = max($0 - count, 0) }
    }

    /// Events being asked about now.
    var count: Int { waiting.withLock { $0 } }
}
