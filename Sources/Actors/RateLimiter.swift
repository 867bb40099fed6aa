import Entitlements
import Synchronization

/// Rate-limit state for one node: each key's GCRA timestamp, under a lock (a request costs a
/// dictionary look-up). Memory stays bounded: a key whose schedule has caught up with the clock
/// holds a full burst, exactly as an absent key does, so such keys are dropped whenever the
/// table passes `capacity`: what stays is the keys active within their last window.
public final class RateLimiter: Sendable {
    private let state = Mutex<[RateLimitKey: Int64]>([:])
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Decides a request for `key` under `policy` at `now` (monotonic nanoseconds) and records it.
    public func check(_ key: RateLimitKey, policy: RateLimitPolicy, now: Int64) -> RateLimitVerdict {
        check([(key, policy)], now: now)[0]
    }

    /// Decides a request against several keys at once: it is allowed only if every one allows
    /// it, and only then is it recorded against all of them (a refusal spends nothing anywhere).
    public func check(_ items: [(key: RateLimitKey, policy: RateLimitPolicy)], now: Int64) -> [RateLimitVerdict] {
        state.withLock { table in
            // Each key is hashed once: its slot is remembered and written in place when allowed.
            var verdicts: [RateLimitVerdict] = []
            verdicts.reserveCapacity(items.count)
            var writes: [(slot: Dictionary<RateLimitKey, Int64>.Index?, tat: Int64?)] = []
            writes.reserveCapacity(items.count)
            var allowed = true
            for item in items {
                let slot = table.index(forKey: item.key)
                let decision = item.policy.decide(tat: slot.map { table.values[$0] }, now: now)
                verdicts.append(decision.verdict)
                writes.append((slot, decision.tat))
                allowed = allowed && decision.verdict.allowed
            }
            if allowed {
                // In place first (slots stay valid until something is inserted), then new keys.
                for write in writes {
                    if let slot = write.slot, let tat = write.tat { table.values[slot] = tat }
                }
                for (write, item) in zip(writes, items) where write.slot == nil {
                    table[item.key] = write.tat
                }
                if table.count > capacity { table = table.filter { $0.value > now } }
            }
            return verdicts
        }
    }

    /// What `check` would say, without recording anything.
    public func peek(_ key: RateLimitKey, policy: RateLimitPolicy, now: Int64) -> RateLimitVerdict {
        state.withLock { table in policy.decide(tat: table[key], now: now).verdict }
    }

    /// Keys currently held.
    public var count: Int { state.withLock { $0.count } }
}
