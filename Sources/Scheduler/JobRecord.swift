import Core

/// A job as stored: its spec, where it is in the state machine, and its history.
public struct JobRecord: Sendable, Equatable {
    /// One failed attempt in the job's history.
    public struct AttemptError: Sendable, Equatable {
        public var attempt: Int
        /// Milliseconds since the epoch.
        public var atMillis: Int64
        public var message: String

        public init(attempt: Int, atMillis: Int64, message: String) {
            self.attempt = attempt
            self.atMillis = atMillis
            self.message = message
        }
    }

    public var id: JobID
    public var spec: JobSpec
    public var state: JobState
    /// Attempts started so far (the running one included).
    public var attempt: Int
    /// When it runs (next), in milliseconds since the epoch.
    public var runAtMillis: Int64
    public var errors: [AttemptError]
    public var createdAtMillis: Int64
    public var updatedAtMillis: Int64
    /// When it reached a final state.
    public var finalizedAtMillis: Int64?

    public init(id: JobID, spec: JobSpec, state: JobState, attempt: Int, runAtMillis: Int64, errors: [AttemptError],
                createdAtMillis: Int64, updatedAtMillis: Int64, finalizedAtMillis: Int64?) {
        self.id = id
        self.spec = spec
        self.state = state
        self.attempt = attempt
        self.runAtMillis = runAtMillis
        self.errors = errors
        self.createdAtMillis = createdAtMillis
        self.updatedAtMillis = updatedAtMillis
        self.finalizedAtMillis = finalizedAtMillis
    }

    /// The last error's message, if the job ever failed.
    public var lastError: String? { errors.last?.message }

    /// The errors as the JSON array both drivers store.
    public static func errorsJSON(_ errors: [AttemptError]) -> String {
        let value = JSONValue.array(errors.map { error in
            .object(["attempt": .number(Double(error.attempt)), "at": .number(Double(error.atMillis)), "message": .string(error.message)])
        })
        return String(decoding: JSONWriter.encode(value), as: UTF8.self)
    }

    /// Reads the stored error array (unknown shapes read as no errors rather than failing a listing).
    public static func parseErrors(_ text: String) -> [AttemptError] {
        guard case .array(let items)? = try? JSONParser.parse(text.utf8) else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .number(let attempt)? = fields["attempt"], case .number(let at)? = fields["at"],
                  case .string(let message)? = fields["message"]
            else { return nil }
            return AttemptError(attempt: Int(attempt), atMillis: Int64(at), message: message)
        }
    }
}
