/// Where a background job is in its life. `docs/JOBS.md` draws the machine; `JobStateMachine`
/// holds its transitions.
public enum JobState: String, Sendable, CaseIterable, Codable {
    /// Ready to run now: waiting in its queue for a worker.
    case available
    /// Waiting for its `run_at` (enqueued for later, or snoozed).
    case scheduled
    /// Held by a worker, whose heartbeats keep its visibility deadline moving.
    case running
    /// Failed with attempts left; waits for its backoff to pass.
    case retryable
    /// Ran to success. Final.
    case completed
    /// Cancelled before it finished. Final.
    case cancelled
    /// Failed for good (last attempt, or a permanent error): in the dead-letter queue until
    /// replayed or purged.
    case dead

    /// Whether no worker will ever run the job again without an operator replaying it.
    public var isFinal: Bool {
        switch self {
        case .completed, .cancelled, .dead: true
        case .available, .scheduled, .running, .retryable: false
        }
    }

    /// The states a job waits in before a worker takes it.
    public static let waiting: [JobState] = [.available, .scheduled, .retryable]
}
