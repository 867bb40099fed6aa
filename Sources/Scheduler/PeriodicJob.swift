import Core

/// A job enqueued on a schedule: once per tick across all nodes, because each tick's job
/// carries the unique key `periodic:<name>:<tick>` and the job store lets only the first
/// enqueue of a key through.
public struct PeriodicJob: Sendable, Equatable {
    /// A stable name (a-z, 0-9, '.', '_', '-'); part of every tick's unique key.
    public var name: String
    public var schedule: CronSchedule
    /// The job each tick enqueues (its unique key is set per tick).
    public var spec: JobSpec

    public init(name: String, schedule: CronSchedule, spec: JobSpec) {
        self.name = name
        self.schedule = schedule
        self.spec = spec
    }

    /// The unique key of the tick at `tickSeconds`.
    public func uniqueKey(tickSeconds: Int64) -> String { "periodic:\(name):\(tickSeconds)" }

    /// The job to enqueue for a tick: runs at the tick, unique to it.
    public func job(tickSeconds: Int64) -> JobSpec {
        var job = spec
        job.uniqueKey = uniqueKey(tickSeconds: tickSeconds)
        job.runAtMillis = tickSeconds * 1_000
        return job
    }

    /// Reads a list such as `[{"name": "nightly", "schedule": "0 2 * * *", "kind": "report.build",
    /// "queue": "default", "args": {}, "max_attempts": 3}]`; errors name the entry and field.
    public static func parseList(_ value: JSONValue) throws -> [PeriodicJob] {
        guard case .array(let items) = value else { throw TallyError.validation("periodic_jobs", "periodic jobs are a JSON array") }
        var seen = Set<String>()
        return try items.enumerated().map { index, item in
            let at = "periodic_jobs[\(index)]"
            guard case .object(let fields) = item else { throw TallyError.validation(at, "each periodic job is an object") }
            func string(_ key: String) throws -> String? {
                switch fields[key] {
                case nil, .null?: return nil
                case .string(let text)?: return text
                default: throw TallyError.validation("\(at).\(key)", "\(key) must be a string")
                }
            }
            for key in fields.keys where !["name", "schedule", "kind", "queue", "args", "priority", "max_attempts"].contains(key) {
                throw TallyError.validation("\(at).\(key)", "unknown field '\(key)'")
            }
            guard let name = try string("name"), LowercaseName.isValid(name, maxBytes: 64), !seen.contains(name) else { throw TallyError.validation("\(at).name", "name is required: 1 to 64 of a-z, 0-9, '.', '_', '-', each name once") }
            seen.insert(name)
            guard let scheduleText = try string("schedule") else { throw TallyError.validation("\(at).schedule", "schedule is required") }
            let schedule: CronSchedule
            do { schedule = try CronSchedule(scheduleText) } catch let error as CronSchedule.ParseError { throw TallyError.validation("\(at).schedule", error.description) }
            guard let kind = try string("kind") else { throw TallyError.validation("\(at).kind", "kind is required") }
            var spec = JobSpec(kind: kind, queue: try string("queue") ?? "default")
            switch fields["args"] {
            case nil, .null?: break
            case .object(let args)?: spec.args = String(decoding: JSONWriter.encode(.object(args)), as: UTF8.self)
            default: throw TallyError.validation("\(at).args", "args must be an object")
            }
            if case .number(let priority)? = fields["priority"] { spec.priority = Int(priority) }
            if case .number(let attempts)? = fields["max_attempts"] { spec.maxAttempts = Int(attempts) }
            do {
                spec = try spec.validated()
            } catch let error as TallyError {
                throw TallyError.validation("\(at).\(error.field ?? "")", error.detail)
            }
            return PeriodicJob(name: name, schedule: schedule, spec: spec)
        }
    }
}
