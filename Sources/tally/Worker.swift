import Actors
import ArgumentParser
import Core
import Logging
import ServiceLifecycle
import Storage

/// `tally worker`: run background jobs (and the queue's upkeep) without serving HTTP.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run background jobs from the queues in TALLY_WORKER_QUEUES (no HTTP).",
        discussion: """
            Queues and their concurrency come from TALLY_WORKER_QUEUES (default: default=10), or --queues. \
            SIGTERM or SIGINT stops fetching, lets running jobs finish within TALLY_SHUTDOWN_TIMEOUT_SECONDS, \
            hands unfinished ones back to their queue, and exits 0.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "Queues and concurrency, e.g. default=10,webhooks=20 (overrides TALLY_WORKER_QUEUES).")
    var queues: String?

    func run() async throws {
        var settings = await CommandContext.settings(options)
        if let queues {
            do {
                settings.workerQueues = try Settings.parse([Settings.Name.workerQueues: queues]).workerQueues
            } catch {
                CommandContext.fail("tally: worker: --queues: \(error)", code: CommandContext.configurationExitCode)
            }
        }
        let logger = CommandContext.bootstrapLogging(settings, toStandardError: false)
        try await StorageBackend.withBackend(settings, logger: logger) { backend in
            try await StartupRetry.untilAvailable(logger: logger) { _ = try await backend.migrations.migrate() }
            let (registry, http) = JobServices.registry(settings, backend: backend, logger: logger)
            let workers = JobServices.workers(settings, backend: backend, registry: registry, logger: logger)
            let maintenance = JobServices.maintenance(settings, backend: backend, registry: registry, logger: logger)
            let periodic = JobServices.periodic(settings, backend: backend, logger: logger)
            var configuration = ServiceGroupConfiguration(
                services: [.init(service: workers), .init(service: maintenance), .init(service: periodic)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            configuration.maximumGracefulShutdownDuration = .seconds(settings.shutdownTimeoutSeconds)
            Serve.announce("Tally worker running \(settings.workerQueues.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) (\(backend.store.backendName))")
            do {
                try await ServiceGroup(configuration: configuration).run()
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }
}
