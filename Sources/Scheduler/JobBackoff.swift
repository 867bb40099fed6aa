/// How long a job waits before its next attempt.
public enum JobBackoff: Sendable, Equatable {
    /// Exponential with full jitter (`RetryPolicy`'s `maxAttempts` is ignored: the job kind's
    /// own limit applies).
    case exponential(RetryPolicy)
    /// A fixed schedule: the wait after attempt n is `waits[n - 1]` (the last entry repeats),
    /// e.g. Standard Webhooks' 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    case schedule([Duration])

    /// The default for job kinds that name none: 1 s doubling up to 10 min, full jitter.
    public static let standard = JobBackoff.exponential(RetryPolicy(base: .seconds(1), cap: .seconds(600), maxAttempts: nil))

    /// The wait after failed attempt number `attempt` (1-based).
    public func wait(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        precondition(attempt >= 1)
        switch self {
        case .exponential(var policy):
            policy.maxAttempts = nil
            guard case .retry(let wait) = policy.decide(afterAttempt: attempt, using: &generator) else { return policy.cap }
            return wait
        case .schedule(let waits):
            guard let last = waits.last else { return .zero }
            return attempt <= waits.count ? waits[attempt - 1] : last
        }
    }
}
