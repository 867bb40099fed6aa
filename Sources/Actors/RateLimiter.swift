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
    public func check(_ key: String, policy: RateLimitPolicy, now: Int64) -> RateLimitVerdict {
        check([(key, policy)], now: now)[0]
    }

    /// Decides a request against several keys at once: it is allowed only if every one allows
    /// it, and only then is it recorded against all of them (a refusal spends nothing anywhere).
    public func check(_ items: [(key: String, policy: RateLimitPolicy)], now: Int64) -> [RateLimitVerdict] {
        state.withLock { table in
            let decisions = items.map { $0.policy.decide(tat: table[$0.key], now: now) }
            if decisions.allSatisfy(\.verdict.allowed) {
                for (item, decision) in zip(items, decisions) { table[item.key] = decision.tat }
                if table.count > capacity { table = table.filter { $0.value > now } }
            }
            return decisions.map(\.verdict)
        }
    }

    /// What `check` would say, without recording anything.
    public func peek(_ key: String, policy: RateLimitPolicy, now: Int64) -> RateLimitVerdict {
        state.withLock { table in policy.decide(tat: table[key], now: now).verdict }
    }

    /// Keys currently held.
    public var count: Int { state.withLock { $0.count } }
}
