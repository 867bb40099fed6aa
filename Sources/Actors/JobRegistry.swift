import Core
import Scheduler

/// The handlers a worker runs, by kind, with Tally's built-in diagnostic kinds:
/// `tally.noop` (does nothing: benchmarks, smoke tests), `tally.sleep` (`{"ms": n}`), and
/// `tally.fail` (`{"permanent": bool, "message": "..."}`, always fails).
public struct JobRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    public init(_ handlers: [any JobHandler] = []) {
        for handler in [NoopJob(), SleepJob(), FailJob()] as [any JobHandler] + handlers { self.handlers[handler.kind] = handler }
    }

    /// Adds or replaces the handler for its kind.
    public mutating func register(_ handler: any JobHandler) { handlers[handler.kind] = handler }

    public func handler(for kind: String) -> (any JobHandler)? { handlers[kind] }

    /// The backoff for a kind (the standard one when no handler is known).
    public func backoff(for kind: String) -> JobBackoff { handlers[kind]?.backoff ?? .standard }

    /// Every registered kind, sorted.
    public var kinds: [String] { handlers.keys.sorted() }
}

struct NoopJob: JobHandler {
    let kind = "tally.noop"
    func run(_ job: JobRecord) async throws {}
}

struct SleepJob: JobHandler {
    let kind = "tally.sleep"
    func run(_ job: JobRecord) async throws {
        guard case .object(let fields) = try JSONParser.parse(job.spec.args.utf8), case .number(let ms)? = fields["ms"], ms >= 0 else {
            throw JobError.permanent("tally.sleep needs {\"ms\": n}")
        }
        try await Task.sleep(for: .milliseconds(Int(ms)))
    }
}

struct FailJob: JobHandler {
    let kind = "tally.fail"
    let backoff = JobBackoff.exponential(RetryPolicy(base: .milliseconds(100), cap: .seconds(10), maxAttempts: nil))
    func run(_ job: JobRecord) async throws {
        let fields = (try? JSONParser.parse(job.spec.args.utf8))?.objectValue ?? [:]
        var message = "tally.fail always fails"
        if case .string(let text)? = fields["message"] { message = text }
        if case .bool(true)? = fields["permanent"] { throw JobError.permanent(message) }
        throw FailJobError(message: message)
    }
}

struct FailJobError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
