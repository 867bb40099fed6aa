import ArgumentParser
import Bench
import Core
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally bench`: load against a running server, measured end to end.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks against a running Tally server.", subcommands: [BenchIngest.self]
    )
}

/// `tally bench ingest`.
struct BenchIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Drive POST /v1/events over N keep-alive connections, then verify the ledger holds exactly the accepted events.",
        discussion: """
            Needs a tenant key (--token or TALLY_BENCH_TOKEN, with events:write, meters:write and usage:read), or an operator \
            key (--operator-token or TALLY_OPERATOR_TOKEN) to create a tenant for the run. The run defines a COUNT meter over its \
            own event type. Afterwards it reads the run's meter over the API and, unless --no-ledger, counts the run's rows in \
            the ledger directly (with the same configuration as `tally serve`: TALLY_DATABASE_URL or TALLY_DATA_DIR), then \
            measures the database's raw dedup insert rate (PostgreSQL COPY) in the same run as the baseline. Exits 1 if the \
            verification fails.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "A tenant API key (default: $TALLY_BENCH_TOKEN).") var token: String?
    @Option(help: "An operator key, to create a tenant for the run (default: $TALLY_OPERATOR_TOKEN).") var operatorToken: String?
    @Option(help: "Concurrent keep-alive connections.") var connections = 64
    @Option(help: "Events per request (1 sends application/cloudevents+json).") var batchSize = 1
    @Option(help: "Share of events that repeat an id already sent (0 to 0.99).") var duplicateRatio = 0.0
    @Option(help: "Seconds of load.") var duration = 10
    @Option(help: "Stop after this many events, if sooner.") var events: Int?
    @Option(help: "Rows for the raw insert baseline (0 skips it).") var baselineEvents = 200_000
    @Option(help: "Seed for the duplicate choices.") var seed: UInt64 = 1
    @Flag(help: "Do not read the ledger (nor run the baseline) directly; verify through the meter only.") var noLedger = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...10_000).contains(connections) else { throw ValidationError("--connections must be 1...10000") }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...100000") }
        guard (0..<1).contains(duplicateRatio) else { throw ValidationError("--duplicate-ratio must be at least 0 and below 1") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard baselineEvents >= 0 else { throw ValidationError("--baseline-events must not be negative") }
    }

    func run() async throws {
        let settings = await CommandContext.settings(options)
        let logger = CommandContext.bootstrapLogging(settings)
        guard let (host, port) = Self.hostPort(url) else { CommandContext.fail("tally: bench: --url must look like http://127.0.0.1:8080") }
        let runID = Self.runID()
        let environment = ProcessInfo.processInfo.environment
        let tenantToken: String
        if let given = token ?? environment["TALLY_BENCH_TOKEN"], !given.isEmpty {
            tenantToken = given
        } else if let operatorKey = operatorToken ?? environment["TALLY_OPERATOR_TOKEN"], !operatorKey.isEmpty {
            tenantToken = try await BenchTenant.create(host: host, port: port, operatorToken: operatorKey, runID: runID)
        } else {
            CommandContext.fail("tally: bench: pass --token (a tenant key) or --operator-token (to create a tenant for the run)")
        }
        let bench = IngestBenchmark(IngestBenchmark.Configuration(
            host: host, port: port, token: tenantToken, connections: connections, batchSize: batchSize, duplicateRatio: duplicateRatio,
            duration: .seconds(duration), maxEvents: events, runID: runID, seed: seed
        ))
        let tenant = try await bench.tenantID()
        try await bench.prepare()
        let load = try await bench.load()
        let meterTotal = try await bench.meterTotal(from: load.startedAt.addingTimeInterval(-3_600), to: Date().addingTimeInterval(3_600))
        var ledgerRows: Int?
        var baseline: IngestBaselineResult?
        if !noLedger {
            (ledgerRows, baseline) = try await StorageBackend.withBackend(settings, logger: logger) { backend in
                let rows = try await backend.ledger.countEvents(in: TenantScope(operatorActingOn: tenant), source: bench.source.source)
                let baseline = baselineEvents > 0 ? try await backend.baseline.run(events: baselineEvents, batchSize: 1_000) : nil
                return (rows, baseline)
            }
        }
        let report = IngestBenchReport(
            runID: runID, url: url, connections: connections, batchSize: batchSize, duplicateRatio: duplicateRatio, load: load,
            verification: .check(load: load, meterTotal: meterTotal, ledgerRows: ledgerRows), baseline: baseline
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
        if !report.verification.ok { throw ExitCode(1) }
    }

    /// `http://host:port` → host and port.
    static func hostPort(_ url: String) -> (String, Int)? {
        guard url.hasPrefix("http://") else { return nil }
        var rest = String(url.dropFirst(7))
        while rest.hasSuffix("/") { rest.removeLast() }
        return HostPort.split(rest, defaultPort: 80)
    }

    /// A short lowercase id for the run's source, type, meter and tenant.
    static func runID() -> String {
        String(UInt64.random(in: 0..<(1 << 40)), radix: 36)
    }
}

/// Creates a tenant and a key for a run, with an operator key.
enum BenchTenant {
    /// The run's tenant gets rate limits far above what one node serves, so the run measures
    /// ingest, not the default limits.
    static func create(host: String, port: Int, operatorToken: String, runID: String) async throws -> String {
        try await HTTPLoadConnection.with(host: host, port: port) { session in
            let headers = [("Authorization", "Bearer \(operatorToken)"), ("Content-Type", "application/json")]
            let tenant = try await session.send(.POST, "/v1/tenants", headers: headers, body: .init(string: #"{"slug":"bench-\#(runID)","name":"tally bench \#(runID)","settings":{"rate_limits":{"tenant_per_second":1000000,"key_per_second":1000000}}}"#))
            struct Created: Decodable { let id: String }
            guard tenant.status == 201 else { throw BenchError("could not create the run's tenant: HTTP \(tenant.status) \(String(buffer: tenant.body))") }
            let id = try JSONDecoder().decode(Created.self, from: Data(buffer: tenant.body)).id
            let key = try await session.send(.POST, "/v1/tenants/\(id)/api-keys", headers: headers, body: .init(string: #"{"name":"tally bench"}"#))
            struct Issued: Decodable { let secret: String }
            guard key.status == 201 else { throw BenchError("could not create the run's key: HTTP \(key.status)") }
            return try JSONDecoder().decode(Issued.self, from: Data(buffer: key.body)).secret
        }
    }
}
