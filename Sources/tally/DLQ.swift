import ArgumentParser
import Core
import Platform
import Scheduler

/// `tally dlq list|show|replay|purge`: the dead-letter queue, straight from the database.
struct DLQ: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect, replay and purge dead jobs (jobs that failed for good).",
        subcommands: [List.self, Show.self, Replay.self, Purge.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead jobs, oldest first, with their last error.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var filter: JobFilterOptions
        @Option(help: "At most this many.") var limit = 1_000
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let jobs = try JobFilterOptions.service(platform)
                let dead = try await JobFilterOptions.collect(jobs, try jobs.filter(filter.parameters, states: [.dead]), limit: limit)
                JobFilterOptions.print(dead, json: json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job with its arguments and every attempt's error.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The job id (job_…).") var id: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in try await JobFilterOptions.show(platform, id: id) }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replay dead jobs: each becomes available again with fresh attempts.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var filter: JobFilterOptions
        @Flag(help: "Replay every dead job (needed when no filter is given).") var all = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let jobs = try JobFilterOptions.service(platform)
                print("replayed \(try await jobs.replay(try filter.deadJobs(jobs, all: all))) dead jobs")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead jobs for good.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var filter: JobFilterOptions
        @Flag(help: "Purge every dead job (needed when no filter is given).") var all = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let jobs = try JobFilterOptions.service(platform)
                print("purged \(try await jobs.purge(try filter.deadJobs(jobs, all: all))) dead jobs")
            }
        }
    }
}
