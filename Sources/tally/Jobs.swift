import ArgumentParser
import Core
import Platform
import Scheduler

/// `tally jobs enqueue|list|show|cancel|stats`.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Enqueue, list, inspect and cancel background jobs.",
        subcommands: [Enqueue.self, List.self, Show.self, Cancel.self, Stats.self]
    )

    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enqueue a job (e.g. tally.noop to check that workers run).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The job kind.") var kind: String
        @Option(help: "The queue.") var queue = "default"
        @Option(help: "The arguments, a JSON object.") var args = "{}"
        @Option(help: "The tenant it works for (ten_… id).") var tenant: String?
        @Option(help: "1 (first) to 4 (last).") var priority = 2
        @Option(name: .customLong("max-attempts"), help: "Attempts in all.") var maxAttempts = JobSpec.defaultMaxAttempts
        @Option(help: "How many copies to enqueue (one batch).") var count = 1

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let jobs = try JobFilterOptions.service(platform)
                var spec = JobSpec(kind: kind, queue: queue, args: args, priority: priority, maxAttempts: maxAttempts)
                if let tenant {
                    guard let id = TenantID(tenant) else { throw TallyError.validation("tenant_id", "tenant must be a ten_… identifier") }
                    spec.tenant = id
                }
                guard count > 1 else {
                    let (job, _) = try await jobs.enqueue(spec)
                    return print(JobFilterOptions.line(job))
                }
                guard (1...1_000_000).contains(count) else { throw TallyError.validation("count", "count must be 1 to 1000000") }
                print("enqueued \(try await jobs.enqueueMany(Array(repeating: spec, count: count))) jobs")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs by id.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var filter: JobFilterOptions
        @Option(help: "Comma-separated states.") var state: String?
        @Option(help: "At most this many.") var limit = 1_000
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let jobs = try JobFilterOptions.service(platform)
                var parameters = filter.parameters
                if let state { parameters["state"] = state }
                JobFilterOptions.print(try await JobFilterOptions.collect(jobs, try jobs.filter(parameters), limit: limit), json: json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job as JSON.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The job id (job_…).") var id: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in try await JobFilterOptions.show(platform, id: id) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an unfinished job.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The job id (job_…).") var id: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                guard let jobID = JobID(id) else { throw TallyError.notFound("job") }
                print(JobFilterOptions.line(try await JobFilterOptions.service(platform).cancel(jobID, tenant: nil)))
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs per queue and state.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                for count in try await JobFilterOptions.service(platform).counts() {
                    print("\(count.queue)  \(count.state.rawValue)  \(count.count)")
                }
            }
        }
    }
}
