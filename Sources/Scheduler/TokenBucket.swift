/// A token bucket for rate-limited queues: `perSecond` tokens a second, holding at most one
/// second's worth. Pure; the SQLite driver stores its state in a row, the Redis one runs the
/// same arithmetic in Lua.
public enum TokenBucket {
    /// The outcome of one take.
    public struct Take: Sendable, Equatable {
        public var granted: Int
        /// Tokens left, to store.
        public var tokens: Double
        /// With nothing granted, how long until a token is there.
        public var retryAfterMillis: Int64
    }

    /// Takes up to `want` tokens at `now` from a bucket last stored as `stored` (full when new).
    public static func take(stored: (tokens: Double, at: Int64)?, want: Int, perSecond: Int, nowMillis: Int64) -> Take {
        let capacity = Double(max(1, perSecond))
        let rate = capacity / 1_000
        var tokens = capacity
        if let stored {
            tokens = min(capacity, stored.tokens + Double(max(0, nowMillis - stored.at)) * rate)
        }
        let granted = max(0, min(want, Int(tokens.rounded(.down))))
        tokens -= Double(granted)
        let retry: Int64 = granted > 0 ? 0 : Int64(((1 - tokens) / rate).rounded(.up))
        return Take(granted: granted, tokens: tokens, retryAfterMillis: max(0, retry))
    }
}
