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
        commandName: "bench", abstract: "Benchmarks against a running Tally server.",
        subcommands: [BenchIngest.self, BenchCheck.self, BenchFairness.self, BenchJobs.self, BenchBilling.self, BenchPlainServer.self]
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
    @Option(help: "A `tally bench plain-server` URL: after the load, its GET /health/live on as many connections, for as long, as the baseline for requests/s; with batches of 1, also its durable POST /v1/events if it serves one (plain-server --database-url).") var plainURL: String?
    @Flag(help: "Do not read the ledger (nor run the baseline) directly; verify through the meter only.") var noLedger = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...10_000).contains(connections) else { throw ValidationError("--connections must be 1...10000") }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...100000") }
        guard (0..<1).contains(duplicateRatio) else { throw ValidationError("--duplicate-ratio must be at least 0 and below 1") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard baselineEvents >= 0 else { throw ValidationError("--baseline-events must not be negative") }
        try Self.validatePlainURL(plainURL)
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
        var plain: IngestBenchReport.PlainGet?
        var plainDurable: IngestBenchReport.PlainGet?
        if let (plainHost, plainPort) = plainURL.flatMap(Self.hostPort) {
            let measured = try await CheckBenchmark().plain(host: plainHost, port: plainPort, connections: connections, duration: .seconds(duration))
            plain = .init(requestsPerSecond: measured.checksPerSecond, p99Milliseconds: measured.p99Milliseconds)
            if batchSize == 1 {
                plainDurable = try await IngestBenchmark.plainDurable(
                    host: plainHost, port: plainPort, connections: connections, duration: .seconds(duration), runID: runID
                ).map(IngestBenchReport.PlainGet.init)
            }
        }
        let report = IngestBenchReport(
            runID: runID, url: url, connections: connections, batchSize: batchSize, duplicateRatio: duplicateRatio, load: load,
            verification: .check(load: load, meterTotal: meterTotal, ledgerRows: ledgerRows), baseline: baseline, plain: plain,
            plainDurable: plainDurable
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

    /// Refuses a `--plain-url` (of `bench ingest` and `bench check`) that is not `http://host:port`.
    static func validatePlainURL(_ url: String?) throws {
        if let url, hostPort(url) == nil { throw ValidationError("--plain-url must look like http://127.0.0.1:18099") }
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
        try await BenchSetup(host: host, port: port, operatorToken: operatorToken).tenant(slug: "bench-\(runID)", tenantPerSecond: 1_000_000).token
    }

    /// The operator key from --operator-token or TALLY_OPERATOR_TOKEN, or a one-line failure.
    static func operatorToken(_ given: String?) -> String {
        guard let token = given ?? ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"], !token.isEmpty else {
            CommandContext.fail("tally: bench: pass --operator-token (or set TALLY_OPERATOR_TOKEN): the run creates its own tenants")
        }
        return token
    }

    static func print<Report: Encodable>(_ report: Report, text: String, json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            Swift.print(text)
        }
    }
}

/// `tally bench check`.
struct BenchCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Entitlement checks: in process (one core) and over HTTP (POST /v1/entitlements/check), in one run.",
        discussion: """
            The in-process part checks a tenant's quota in memory back to back on one task: the work a check costs inside \
            Tally once its request is parsed. The HTTP part needs a running server and an operator key (--operator-token or \
            TALLY_OPERATOR_TOKEN): it creates a tenant entitled to a metered feature and sends checks on N keep-alive connections, \
            then GET /health/live on the same connections as the baseline; --rounds N alternates the two N times and \
            reports their medians (shared machines are noisy). With --plain-url, each round also loads a plain Hummingbird GET \
            (`tally bench plain-server`) and the report reads checks against it, as the issue's floor is written; it also \
            sends the same check request to that server, which reads the body and answers a fixed check-shaped answer, and \
            reports that POST over the plain GET (the request's shape) and checks over that POST (Tally's work). --slices K \
            takes each round's parts in K interleaved turns, so swings within seconds fall on every part alike.
            """
    )

    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "An operator key (default: $TALLY_OPERATOR_TOKEN).") var operatorToken: String?
    @Option(help: "Concurrent keep-alive connections.") var connections = 64
    @Option(help: "Seconds of each part.") var duration = 10
    @Option(help: "Rounds over HTTP, each checks then the baseline; the report gives each and their medians.") var rounds = 1
    @Option(help: "A `tally bench plain-server` URL: each round also loads its GET /health/live and its check-shaped POST, and the report reads checks against them.") var plainURL: String?
    @Option(help: "Turns each part of a round takes, interleaved (checks, baseline, plain, plain check, checks, …), within --duration in all.") var slices = 1
    @Flag(help: "Only the in-process part (no server needed).") var inProcessOnly = false
    @Flag(help: "Only the HTTP part.") var httpOnly = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard (1...100).contains(slices) else { throw ValidationError("--slices must be 1...100") }
        guard !(inProcessOnly && httpOnly) else { throw ValidationError("--in-process-only and --http-only exclude each other") }
        try BenchIngest.validatePlainURL(plainURL)
    }

    func run() async throws {
        let runID = BenchIngest.runID()
        let bench = CheckBenchmark()
        let inProcess = httpOnly ? nil : try await bench.inProcess(duration: .seconds(duration))
        var measured: [CheckBenchmark.Report.Round] = []
        if !inProcessOnly {
            guard let (host, port) = BenchIngest.hostPort(url) else { CommandContext.fail("tally: bench: --url must look like http://127.0.0.1:8080") }
            let setup = BenchSetup(host: host, port: port, operatorToken: BenchTenant.operatorToken(operatorToken))
            let request = try await bench.prepare(setup: setup, runID: runID)
            let plainServer = plainURL.flatMap(BenchIngest.hostPort).map { (host: $0.0, port: $0.1) }
            for _ in 0..<rounds {
                measured.append(try await bench.round(
                    request, setup: setup, plain: plainServer, connections: connections, duration: .seconds(duration), slices: slices
                ))
            }
        }
        let report = CheckBenchmark.Report(runID: runID, inProcess: inProcess, rounds: measured)
        try BenchTenant.print(report, text: report.text, json: json)
    }
}

/// `tally bench fairness`.
struct BenchFairness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fairness",
        abstract: "Does one tenant sending 10x its rate limit raise another tenant's p99? Alternating rounds, medians.",
        discussion: """
            Needs a running server and an operator key (--operator-token or TALLY_OPERATOR_TOKEN): it creates a quiet and a \
            noisy tenant with the same rate limit. Each round measures the quiet tenant posting events at a steady rate below \
            its limit: alone, beside the noisy tenant sending at its limit, and beside it offering ten times its limit. The \
            report gives flooding over alone (the floor: at most 1.10) and flooding over at-its-limit (what the refused \
            excess alone adds). With --plain-url (a `tally bench plain-server`), each round also measures the quiet tenant \
            beside the same flood sent to the plain server's GET /health/live: what such a flood costs on this machine \
            whatever the server.
            """
    )

    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "An operator key (default: $TALLY_OPERATOR_TOKEN).") var operatorToken: String?
    @Option(help: "Both tenants' rate limit, requests per second.") var rateLimit = 500
    @Option(help: "The noisy tenant's offered rate, as a multiple of its limit.") var noisyFactor = 10
    @Option(help: "Seconds of each phase.") var duration = 10
    @Option(help: "Rounds (each: quiet alone, beside the noisy tenant at its limit, beside it flooding).") var rounds = 3
    @Option(help: "Turns each phase takes per round, interleaved with the other phases' turns (1: one stretch each).") var slices = 1
    @Option(help: "A `tally bench plain-server` URL: each round also floods its GET /health/live, as the noisy tenant floods Tally, beside the quiet tenant.") var plainURL: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        try BenchIngest.validatePlainURL(plainURL)
        guard (1...100_000).contains(rateLimit) else { throw ValidationError("--rate-limit must be 1...100000") }
        guard (1...100).contains(noisyFactor) else { throw ValidationError("--noisy-factor must be 1...100") }
        guard duration > 0, rounds > 0 else { throw ValidationError("--duration and --rounds must be positive") }
        guard (1...100).contains(slices) else { throw ValidationError("--slices must be 1...100") }
    }

    func run() async throws {
        guard let (host, port) = BenchIngest.hostPort(url) else { CommandContext.fail("tally: bench: --url must look like http://127.0.0.1:8080") }
        let setup = BenchSetup(host: host, port: port, operatorToken: BenchTenant.operatorToken(operatorToken))
        let bench = FairnessBenchmark(FairnessBenchmark.Configuration(
            rateLimit: rateLimit, noisyFactor: noisyFactor, phase: .seconds(duration), rounds: rounds, slices: slices,
            plain: plainURL.flatMap(BenchIngest.hostPort).map { (host: $0.0, port: $0.1) }
        ))
        let report = try await bench.run(setup: setup, runID: BenchIngest.runID())
        try BenchTenant.print(report, text: report.text, json: json)
    }
}

/// `tally bench jobs`.
struct BenchJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Enqueue no-op jobs (one at a time, then in bulk), drain them with worker processes, and count Redis commands per job.",
        discussion: """
            Runs against the configured storage (TALLY_DATABASE_URL + TALLY_REDIS_URL, or the embedded file): every job is \
            durable (its row is written before Redis sees it). The workers are `tally worker` processes started for the run on \
            a queue of its own; the drain clock starts once they all run. scripts/bench-job-peers runs the same work through \
            Sidekiq, Dramatiq and RQ on the same Redis for comparison.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Option(help: "Jobs enqueued in bulk.") var jobs = 100_000
    @Option(help: "Jobs enqueued one at a time first.") var singleJobs = 2_000
    @Option(help: "Jobs per bulk enqueue.") var batch = 1_000
    @Option(help: "Worker processes.") var workers = 2
    @Option(help: "Jobs each worker runs at once.") var concurrency = 50
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...10_000_000).contains(jobs) else { throw ValidationError("--jobs must be 1...10000000") }
        guard (0...1_000_000).contains(singleJobs) else { throw ValidationError("--single-jobs must be 0...1000000") }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1...10000") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1...64") }
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be 1...10000") }
    }

    func run() async throws {
        let settings = await CommandContext.settings(options)
        var logger = CommandContext.bootstrapLogging(settings)
        logger.logLevel = max(logger.logLevel, .warning)
        var configuration = JobBenchmark.Configuration(binary: CommandLine.arguments[0], environment: ProcessInfo.processInfo.environment)
        configuration.jobs = jobs
        configuration.singleJobs = singleJobs
        configuration.batch = batch
        configuration.workers = workers
        configuration.concurrency = concurrency
        if configuration.environment["TALLY_LOG_LEVEL"] == nil { configuration.environment["TALLY_LOG_LEVEL"] = "warning" }
        let report = try await StorageBackend.withBackend(settings, logger: logger) { backend in
            try await StartupRetry.untilAvailable(logger: logger) { _ = try await backend.migrations.migrate() }
            return try await JobBenchmark(configuration).run(storage: backend, backendName: backend.store.backendName)
        }
        print(json ? String(decoding: JSONWriter.encode(report.json), as: UTF8.self) : report.text)
        if report.completed < report.jobs { throw ExitCode(1) }
    }
}

struct BenchBilling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing",
        abstract: "Book a month of usage for many subscriptions, run billing once, and time it against a plain SQL aggregate of the same events.",
        discussion: """
            Runs against the configured storage (use a scratch database: the tenants, events and invoices stay). Events are booked \
            through the ledger's own append path, rollups included; the aggregate (sum per tenant straight from usage_events) is \
            timed --aggregate-repeats times in the same run, then one billing run drafts every invoice; each invoice is checked \
            against the aggregate. Exit status 1 if any invoice is missing or wrong.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Option(help: "Subscriptions (one tenant each).") var subscriptions = 5_000
    @Option(help: "Events in the period, spread evenly over the subscriptions.") var events = 10_000_000
    @Option(help: "Events per tenant per minute in which it has any (bursts: how much the minute rollups fold).") var eventsPerMinute = 10
    @Option(help: "Events per ledger append.") var batch = 5_000
    @Option(help: "Concurrent loaders.") var loaders = 4
    @Option(help: "How many times the aggregate is timed (the median is reported).") var aggregateRepeats = 3
    @Option(help: "Subscriptions the billing run bills at once.") var runConcurrency = 8
    @Option(help: "Months of usage: 1, or 2 to time the second month's run after the first was invoiced and finalized (late-usage checks included).") var periods = 1
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...1_000_000).contains(subscriptions) else { throw ValidationError("--subscriptions must be 1...1000000") }
        guard events >= subscriptions, events <= 1_000_000_000 else { throw ValidationError("--events must be at least --subscriptions and at most 1e9") }
        guard (1...10_000).contains(eventsPerMinute) else { throw ValidationError("--events-per-minute must be 1...10000") }
        guard (1...50_000).contains(batch) else { throw ValidationError("--batch must be 1...50000") }
        guard (1...64).contains(loaders), (1...64).contains(runConcurrency) else { throw ValidationError("--loaders and --run-concurrency must be 1...64") }
        guard (1...20).contains(aggregateRepeats) else { throw ValidationError("--aggregate-repeats must be 1...20") }
        guard (1...2).contains(periods) else { throw ValidationError("--periods must be 1 or 2") }
    }

    func run() async throws {
        let settings = await CommandContext.settings(options)
        var logger = CommandContext.bootstrapLogging(settings)
        logger.logLevel = max(logger.logLevel, .warning)
        var configuration = BillingBenchmark.Configuration()
        configuration.subscriptions = subscriptions
        configuration.events = events
        configuration.eventsPerMinute = eventsPerMinute
        configuration.batch = batch
        configuration.loaders = loaders
        configuration.aggregateRepeats = aggregateRepeats
        configuration.runConcurrency = runConcurrency
        configuration.periods = periods
        let report = try await StorageBackend.withBackend(settings, logger: logger) { backend in
            try await StartupRetry.untilAvailable(logger: logger) { _ = try await backend.migrations.migrate() }
            return try await BillingBenchmark(configuration, logger: logger).run(storage: backend, backendName: backend.store.backendName)
        }
        print(json ? String(decoding: JSONWriter.encode(report.json), as: UTF8.self) : report.text)
        if !report.verified { throw ExitCode(1) }
    }
}
