import Core

/// What a producer asks to run: a job kind with its arguments, on a queue, for a tenant (or
/// for the platform), now or later, at most so many times.
public struct JobSpec: Sendable, Equatable {
    /// The handler that runs it, e.g. `webhook.deliver`.
    public var kind: String
    /// The queue it waits in; workers serve queues with their own concurrency.
    public var queue: String
    /// The tenant it works for; `nil` for platform jobs. Queues take tenants in turn.
    public var tenant: TenantID?
    /// The handler's arguments, a JSON document.
    public var args: String
    /// 1 (first) to 4 (last).
    public var priority: Int
    /// When it may run, in milliseconds since the epoch; `nil` means now.
    public var runAtMillis: Int64?
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Jobs with the same unique key (see `JobSpec.uniqueKey(kind:key:periodSeconds:nowMillis:)`)
    /// are enqueued once; later ones get the first job back.
    public var uniqueKey: String?

    /// Default attempts for a job that names none (River's default too).
    public static let defaultMaxAttempts = 25
    /// Priorities run 1...4.
    public static let priorities = 1...4

    public init(kind: String, queue: String = "default", tenant: TenantID? = nil, args: String = "{}", priority: Int = 2,
                runAtMillis: Int64? = nil, maxAttempts: Int = JobSpec.defaultMaxAttempts, uniqueKey: String? = nil) {
        self.kind = kind
        self.queue = queue
        self.tenant = tenant
        self.args = args
        self.priority = priority
        self.runAtMillis = runAtMillis
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }

    /// A unique key scoped to one period: the same `key` within the same `periodSeconds`-long
    /// period (counted from the epoch) gives the same unique key; `nil` period means for ever.
    public static func uniqueKey(kind: String, key: String, periodSeconds: Int64?, nowMillis: Int64) -> String {
        guard let periodSeconds, periodSeconds > 0 else { return "\(kind):\(key)" }
        let period = nowMillis / (periodSeconds * 1_000)
        return "\(kind):\(key):\(period)"
    }

    /// Validates a spec; throws `validation_failed` naming the field.
    public func validated() throws -> JobSpec {
        func name(_ text: String, _ field: String) throws {
            guard LowercaseName.isValid(text, maxBytes: 128) else {
                throw TallyError(.validationFailed, "\(field) must be 1 to 128 characters of a-z, 0-9, '.', '_' or '-'", field: field)
            }
        }
        try name(kind, "kind")
        try name(queue, "queue")
        guard Self.priorities.contains(priority) else {
            throw TallyError(.validationFailed, "priority must be between 1 and 4", field: "priority")
        }
        guard (1...1_000).contains(maxAttempts) else {
            throw TallyError(.validationFailed, "max_attempts must be between 1 and 1000", field: "max_attempts")
        }
        if let uniqueKey, !(1...512).contains(uniqueKey.utf8.count) {
            throw TallyError(.validationFailed, "unique_key must be 1 to 512 bytes", field: "unique_key")
        }
        guard case .object = try? JSONParser.parse(args.utf8) else {
            throw TallyError(.validationFailed, "args must be a JSON object", field: "args")
        }
        return self
    }
}
