import Actors
import AsyncHTTPClient
import ArgumentParser
import Core
import HTTPFront
import Hummingbird
import Logging
import Metrics
import Platform
import Prometheus
import ServiceLifecycle
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// `tally serve`: migrate, bootstrap the first operator key, and serve HTTP until SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API and, unless TALLY_WORKERS_IN_SERVE=false, run background jobs in the same process.",
        discussion: "SIGTERM or SIGINT stops accepting connections, drains in-flight requests within TALLY_SHUTDOWN_TIMEOUT_SECONDS, and exits 0."
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let settings = await CommandContext.settings(options)
        let logger = CommandContext.bootstrapLogging(settings, toStandardError: false)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(TallyHTTPServer.metricsFactory(registry: registry))

        try await StorageBackend.withBackend(settings, logger: logger) { backend in
            let applied = try await StartupRetry.untilAvailable(logger: logger) { try await backend.migrations.migrate() }
            logger.info("storage ready", metadata: [LogKey.backend: "\(backend.store.backendName)", "migrations.applied": "\(applied)"])

            let usage = KeyUsageRecorder(store: backend.store, logger: logger)
            let cache = CredentialCache(ttl: .seconds(settings.authCacheTTLSeconds))
            let committer = GroupCommitter(
                ledger: backend.ledger, overlap: CommitOverlap(minimumEvents: settings.ingestCommitOverlapEvents), logger: logger
            )
            let janitor = IdempotencyJanitor(store: backend.idempotency, logger: logger)
            let leasing = TenantQuota.Leasing(settings: settings, redis: backend.redis)
            let directory = TenantDirectory(
                loader: Platform.loader(store: backend.store, ledger: backend.ledger, entitlements: backend.entitlements), limits: settings.ingestLimits,
                idleAfter: .seconds(settings.tenantIdleSeconds), policyTTL: .seconds(settings.authCacheTTLSeconds),
                quotaRefresh: .seconds(settings.quotaRefreshSeconds), leasing: leasing, logger: logger
            )
            let platform = Platform(
                store: backend.store, ledger: backend.ledger, appender: committer, cache: cache, usage: usage, directory: directory,
                entitlements: backend.entitlements, jobs: backend.jobs, webhooks: backend.webhooks, webhookPolicy: JobServices.policy(settings),
                inboundWebhookSecrets: settings.webhookInboundSecrets, billing: backend.billing,
                billingConfiguration: JobServices.billingConfiguration(settings), paymentProvider: JobServices.paymentProvider(settings)
            )

            if let (issued, path) = try await OperatorBootstrap.run(platform: platform, dataDir: settings.dataDir, now: SystemClock().now()) {
                Self.announce("""

                    Tally created the first operator key. It is shown once here and saved (mode 0600) to \(path):

                        \(issued.token.text)

                    """)
            }

            let router = TallyHTTPServer.router(platform: platform, idempotency: backend.idempotency, dependencies: backend.dependencies, registry: registry, settings: settings)
            let app = TallyHTTPServer.application(router: router, settings: settings, services: [], logger: logger) { channel in
                let port = channel.localAddress?.port ?? settings.httpPort
                Self.announce("Tally listening on http://\(settings.httpHost):\(port) (\(backend.store.backendName))")
            }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: usage), .init(service: directory), .init(service: janitor), .init(service: committer),
            ]
            var http: HTTPClient?
            if settings.workersInServe {
                let (registry, client) = JobServices.registry(settings, backend: backend, logger: logger)
                http = client
                services.append(.init(service: JobServices.workers(settings, backend: backend, registry: registry, logger: logger)))
                services.append(.init(service: JobServices.maintenance(settings, backend: backend, registry: registry, logger: logger)))
                services.append(.init(service: JobServices.periodic(settings, backend: backend, logger: logger)))
            }
            services.append(.init(service: app))
            var configuration = ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            configuration.maximumGracefulShutdownDuration = .seconds(settings.shutdownTimeoutSeconds)
            do {
                try await ServiceGroup(configuration: configuration).run()
            } catch {
                try? await http?.shutdown()
                throw error
            }
            try await http?.shutdown()
            logger.info("stopped")
        }
    }

    /// Writes a line for the operator to standard error, outside the JSON log stream.
    static func announce(_ text: String) {
        var line = text + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// `tally migrate`: apply pending migrations under the cross-node lock.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (also done at start-up).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let settings = await CommandContext.settings(options)
        let logger = CommandContext.bootstrapLogging(settings)
        do {
            try await StorageBackend.withBackend(settings, logger: logger) { backend in
                let applied = try await StartupRetry.untilAvailable(logger: logger) { try await backend.migrations.migrate() }
                let all = try await backend.migrations.appliedMigrations()
                print(applied.isEmpty
                    ? "schema is up to date at version \(all.last?.version ?? 0) (\(backend.store.backendName))"
                    : "applied migrations \(applied.map(String.init).joined(separator: ", ")); schema at version \(all.last?.version ?? 0) (\(backend.store.backendName))")
            }
        } catch let error as MigrationError {
            CommandContext.fail("tally: migrate: \(error)")
        }
    }
}

/// `tally openapi`: print the OpenAPI document.
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the OpenAPI 3.1 document the server serves at /openapi.json.")

    func run() {
        print(OpenAPIDocument.json)
    }
}
