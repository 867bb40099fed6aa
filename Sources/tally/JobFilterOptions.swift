import ArgumentParser
import Core
import Platform
import Scheduler
import Storage

/// The filters `tally jobs list` and `tally dlq …` share.
struct JobFilterOptions: ParsableArguments {
    @Option(help: "Only this queue.") var queue: String?
    @Option(help: "Only this job kind.") var kind: String?
    @Option(help: "Only this tenant's jobs (ten_… id).") var tenant: String?
    @Option(name: .customLong("older-than"), help: "Only jobs last changed at least this many seconds ago.") var olderThan: Int?
    @Option(name: .customLong("id"), help: "Only this job (repeatable).") var ids: [String] = []

    /// Query-style parameters for `JobService.filter`.
    var parameters: [String: String] {
        var out: [String: String] = [:]
        if let queue { out["queue"] = queue }
        if let kind { out["kind"] = kind }
        if let tenant { out["tenant_id"] = tenant }
        if let olderThan { out["older_than"] = String(olderThan) }
        if !ids.isEmpty { out["id"] = ids.joined(separator: ",") }
        return out
    }

    /// One line per job for text output.
    static func line(_ job: JobRecord) -> String {
        var text = "\(job.id.rawValue)  \(job.state.rawValue)  \(job.spec.queue)  \(job.spec.kind)  attempt \(job.attempt)/\(job.spec.maxAttempts)"
        if let tenant = job.spec.tenant { text += "  \(tenant.rawValue)" }
        if let error = job.lastError { text += "  last error: \(error)" }
        return text
    }

    /// Prints jobs as lines or as a JSON array.
    static func print(_ jobs: [JobRecord], json: Bool) {
        if json {
            Swift.print(String(decoding: JSONWriter.encode(.array(jobs.map(JobService.json))), as: UTF8.self))
        } else {
            jobs.forEach { Swift.print(line($0)) }
        }
    }

    /// The dead jobs this filter names; refused when it names none and `all` is not set, so
    /// nobody replays or purges the whole DLQ by accident.
    func deadJobs(_ jobs: JobService, all: Bool) throws -> JobFilter {
        guard all || !parameters.isEmpty else {
            throw TallyError.validation("all", "name the dead jobs (--queue, --kind, --tenant, --older-than, --id) or pass --all")
        }
        return try jobs.filter(parameters, states: [.dead])
    }

    /// Prints one job as JSON.
    static func show(_ platform: Platform, id: String) async throws {
        guard let jobID = JobID(id) else { throw TallyError.notFound("job") }
        Swift.print(String(decoding: JSONWriter.encode(JobService.json(try await service(platform).get(jobID, tenant: nil))), as: UTF8.self))
    }

    static func service(_ platform: Platform) throws -> JobService {
        guard let jobs = platform.jobs else { throw TallyError(.internalError, "this build has no job queue") }
        return jobs
    }

    /// Every page of jobs matching the filter, up to `limit`.
    static func collect(_ jobs: JobService, _ filter: JobFilter, limit: Int) async throws -> [JobRecord] {
        var all: [JobRecord] = []
        var after: JobID?
        while all.count < limit {
            let (page, next) = try await jobs.list(filter, limit: min(200, limit - all.count), after: after)
            all += page
            guard let next else { break }
            after = next
        }
        return all
    }
}
