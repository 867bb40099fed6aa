import Core
import Scheduler

/// Runs one kind of job. Throwing `JobError` says how the attempt failed; any other error
/// is retryable.
public protocol JobHandler: Sendable {
    /// The job kind it runs, e.g. `webhook.deliver`.
    var kind: String { get }
    /// The wait before each retry (default: `JobBackoff.standard`).
    var backoff: JobBackoff { get }
    /// Runs the job. Cancellation means the worker is shutting down past its deadline.
    func run(_ job: JobRecord) async throws
}

extension JobHandler {
    public var backoff: JobBackoff { .standard }
}

/// How a handler says its attempt went wrong, when "retry later" is not the answer.
public enum JobError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Retrying cannot help: straight to the dead-letter queue.
    case permanent(String)
    /// Not a failure: run again after this wait, without spending an attempt (a circuit
    /// breaker is open, a rate limit is hit).
    case snooze(Duration, String)

    public var description: String {
        switch self {
        case .permanent(let message): message
        case .snooze(_, let message): message
        }
    }

    /// How the worker reports `error` (anything not a `JobError` is retryable).
    public static func failure(for error: any Error) -> JobFailure {
        switch error {
        case JobError.permanent(let message): JobFailure(.permanent, message)
        case JobError.snooze(let wait, let message): JobFailure(.snooze(wait), message)
        case let error as TallyError: JobFailure(.retryable, error.description)
        default: JobFailure(.retryable, String(describing: error))
        }
    }
}
