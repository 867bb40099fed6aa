/// Exponential backoff with full jitter (AWS architecture blog's "full jitter"):
/// attempt n waits a uniformly random time in `0 ... min(cap, base * 2^(n-1))`.
///
/// Pure: the caller supplies the random source, so tests pin the draws.
public struct RetryPolicy: Sendable, Equatable {
    /// The ceiling of the first retry's wait.
    public var base: Duration
    /// The largest wait any attempt may draw.
    public var cap: Duration
    /// Attempts in all, the first included; `nil` retries for ever.
    public var maxAttempts: Int?

    public init(base: Duration, cap: Duration, maxAttempts: Int?) {
        precondition(base > .zero && cap >= base, "RetryPolicy needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.maxAttempts = maxAttempts
    }

    /// What to do after a failed attempt.
    public enum Decision: Sendable, Equatable {
        /// Try again after this wait.
        case retry(after: Duration)
        /// No attempts remain.
        case giveUp
    }

    /// The ceiling of the wait after failed attempt number `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        precondition(attempt >= 1)
        let exponent = min(attempt - 1, 62)
        let baseNanos = base.nanoseconds
        let capNanos = cap.nanoseconds
        // Saturate instead of overflowing: once base * 2^k passes the cap, the cap is the answer.
        if exponent >= baseNanos.leadingZeroBitCount { return cap }
        return .nanoseconds(min(capNanos, baseNanos << exponent))
    }

    /// Decides after failed attempt number `attempt` (1-based), drawing jitter from `generator`.
    public func decide(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Decision {
        if let maxAttempts, attempt >= maxAttempts { return .giveUp }
        let ceiling = ceiling(afterAttempt: attempt).nanoseconds
        return .retry(after: .nanoseconds(Int64.random(in: 0...ceiling, using: &generator)))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64.max`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled + attoseconds / 1_000_000_000
    }
}
