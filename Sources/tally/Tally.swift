import ArgumentParser
import Core

/// `tally`: the command-line entry point.
@main
struct Tally: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Self-hosted usage metering, quota, job and billing core.",
        discussion: """
            Configuration comes from environment variables (TALLY_DATABASE_URL, TALLY_REDIS_URL, \
            TALLY_HTTP_ADDRESS, TALLY_DATA_DIR, TALLY_LOG_LEVEL, TALLY_ENV, ...) and an optional JSON file \
            (--config or TALLY_CONFIG_FILE). With no database URL, Tally runs embedded on one SQLite file.
            """,
        version: version,
        subcommands: [
            Serve.self, Worker.self, Jobs.self, DLQ.self, Migrate.self, Tenants.self, APIKeys.self, Seed.self, BillingCommand.self, Subscriptions.self,
            Invoices.self, BenchCommand.self, OpenAPI.self, Version.self,
        ]
    )
}

/// Options every command that touches storage accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON config file (environment variables take precedence).")
    var config: String?
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("tally \(Tally.version)")
    }
}
