/// How a job's attempt went wrong, as its handler (or the rescuer) reports it, and what
/// happens next. Pure: the caller passes the time and the random source.
public struct JobFailure: Sendable, Equatable {
    /// Whether another attempt could succeed.
    public enum Kind: Sendable, Equatable {
        /// Worth retrying after a backoff (the default for any thrown error).
        case retryable
        /// Retrying cannot help (bad arguments, a 4xx answer): straight to the dead-letter queue.
        case permanent
        /// Not a failure: run again after this wait without spending an attempt.
        case snooze(Duration)
        /// The worker stopped heartbeating (crashed or hung); counts as a retryable failure.
        case lapsed
    }

    public var kind: Kind
    /// One line for the job's error history.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The decision after attempt number `attempt` (1-based) failed this way.
    public struct Decision: Sendable, Equatable {
        /// The state machine event the decision sends.
        public var event: JobStateMachine.Event
        /// When the job runs next (retryable and snoozed jobs), in milliseconds since the epoch.
        public var runAtMillis: Int64?
        /// The attempt count to store: a snooze hands the attempt back.
        public var attempt: Int

        public init(event: JobStateMachine.Event, runAtMillis: Int64?, attempt: Int) {
            self.event = event
            self.runAtMillis = runAtMillis
            self.attempt = attempt
        }
    }

    /// Decides what happens after attempt `attempt` of at most `maxAttempts` failed at `nowMillis`.
    public func decide(
        attempt: Int, maxAttempts: Int, backoff: JobBackoff, nowMillis: Int64, using generator: inout some RandomNumberGenerator
    ) -> Decision {
        switch kind {
        case .snooze(let wait):
            return Decision(event: .snooze, runAtMillis: nowMillis + max(0, wait.nanoseconds / 1_000_000), attempt: max(0, attempt - 1))
        case .permanent:
            return Decision(event: .failFinal, runAtMillis: nil, attempt: attempt)
        case .retryable, .lapsed:
            let rescued = kind == .lapsed
            guard attempt < maxAttempts else {
                return Decision(event: rescued ? .rescueFinal : .failFinal, runAtMillis: nil, attempt: attempt)
            }
            let wait = backoff.wait(afterAttempt: attempt, using: &generator)
            return Decision(event: rescued ? .rescueRetryable : .failRetryable, runAtMillis: nowMillis + wait.nanoseconds / 1_000_000, attempt: attempt)
        }
    }
}
