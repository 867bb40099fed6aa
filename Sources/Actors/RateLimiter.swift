import Entitlements
import Synchronization

/// Rate-limit state for one node: each key's GCRA timestamp, under a lock (a request costs a
/// dictionary look-up). Memory stays bounded: a key whose schedule has caught up with the clock
/// holds a full burst, exactly as an absent key does, so such keys are dropped whenever the
/// table passes `capacity`: what stays is the keys active within their last window.
public final class RateLimiter: Sendable {
    private let state = Mutex<[String: Int64]>([:])
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Decides a request for `key` under `policy` at `now` (monotonic nanoseconds) and records it.
    public func check(_ key: String, policy: RateLimitPolicy, now: Int64, cost: Int = 1) -> RateLimitVerdict {
        state.withLock { table in
            let (verdict, next) = policy.decide(tat: table[key], now: now, cost: cost)
            if let next { table[key] = next }
            if table.count > capacity { table = table.filter { $0.value > now } }
            return verdict
        }
    }

    /// Keys currently held.
    public var count: Int { state.withLock { $0.count } }
}
