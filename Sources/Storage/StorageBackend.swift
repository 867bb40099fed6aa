import Core
import Logging
import NIOSSL
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The drivers one set of `Settings` selects, opened and ready: the embedded SQLite file, or
/// PostgreSQL plus Redis. Created by `withBackend`, which also keeps the Postgres pool running.
public struct StorageBackend: Sendable {
    public let store: any PlatformStore
    /// The usage ledger, meters and rollups.
    public let ledger: any LedgerStore
    /// Idempotency-Key records.
    public let idempotency: any IdempotencyStore
    public let migrations: any MigrationDriver
    /// Present in production mode.
    public let redis: RedisClient?
    /// What `/health/ready` probes, by dependency name.
    public let dependencies: [DependencyCheck]
    /// The database's raw bulk-insert rate, for `tally bench`.
    public let baseline: any IngestBaseline
    /// Features, plans, tenants' entitlements, grants and threshold notifications.
    public let entitlements: any EntitlementStore
    /// Background jobs: the durable record and the queue workers take them from.
    public let jobs: any JobQueue
    /// Outbound webhook endpoints and deliveries, inbound webhook events.
    public let webhooks: any WebhookStore
    /// Prices, subscriptions, invoices, credit notes and the billing audit trail.
    public let billing: any BillingStore

    /// Opens the backend, runs `body`, then closes everything, whether `body` returns or throws.
    public static func withBackend<T: Sendable>(
        _ settings: Settings, logger: Logger, _ body: (StorageBackend) async throws -> T
    ) async throws -> T {
        switch settings.backend {
        case .embedded:
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            let path = settings.dataDir.hasSuffix("/") ? settings.dataDir + "tally.sqlite" : settings.dataDir + "/tally.sqlite"
            let file = try await SQLiteDatabaseFile.open(path: path, logger: logger)
            let store = SQLitePlatformStore(database: file)
            let backend = StorageBackend(
                store: store, ledger: SQLiteLedgerStore(database: file), idempotency: store, migrations: store, redis: nil,
                dependencies: [DependencyCheck(name: "database") { try await store.ping() }], baseline: SQLiteIngestBaseline(database: file),
                entitlements: SQLiteEntitlementStore(database: file), jobs: SQLiteJobQueue(database: file),
                webhooks: SQLiteWebhookStore(database: file), billing: SQLiteBillingStore(database: file)
            )
            do {
                let result = try await body(backend)
                try await file.close()
                return result
            } catch {
                try? await file.close()
                throw error
            }

        case .production(let database, let redisURL):
            let client = PostgresClient(configuration: try postgresConfiguration(database, poolSize: settings.databasePoolSize), backgroundLogger: PostgresBackgroundLogHandler.wrapping(logger))
            let store = PostgresPlatformStore(client: client, logger: logger)
            let redis = RedisClient(configuration: .init(url: redisURL), logger: logger)
            let backend = StorageBackend(
                store: store, ledger: PostgresLedgerStore(client: client, logger: logger), idempotency: store, migrations: store, redis: redis,
                dependencies: [
                    DependencyCheck(name: "database") { try await store.ping() },
                    DependencyCheck(name: "redis") {
                        guard try await redis.send("PING") == .status("PONG") else { throw RedisError(.reply, "unexpected PING reply") }
                    },
                ],
                baseline: PostgresIngestBaseline(client: client, logger: logger),
                entitlements: PostgresEntitlementStore(client: client, logger: logger),
                jobs: RedisJobQueue(client: client, redis: redis, logger: logger, prefix: settings.redisKeyPrefix + "jobs:"),
                webhooks: PostgresWebhookStore(client: client, logger: logger), billing: PostgresBillingStore(client: client, logger: logger)
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                // A query before the pool's task is inside `run()` waits for a connection; the
                // warning PostgresNIO logs for it is demoted (`PostgresBackgroundLogHandler`).
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                do {
                    let result = try await body(backend)
                    await redis.shutdown()
                    return result
                } catch {
                    await redis.shutdown()
                    throw error
                }
            }
        }
    }

    /// The postgres-nio configuration for a parsed URL.
    public static func postgresConfiguration(_ url: PostgresURL, poolSize: Int) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch url.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls
        )
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = .seconds(5)
        // Durable before acknowledged, whatever the server's default says.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        return configuration
    }
}

/// A named probe of one dependency, for readiness.
public struct DependencyCheck: Sendable {
    public let name: String
    public let probe: @Sendable () async throws -> Void

    public init(name: String, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.probe = probe
    }
}
