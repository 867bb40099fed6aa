import Core
import Foundation
import Logging
import PostgresNIO
import Storage

/// The storage backends every conformance case runs against. Postgres joins when
/// `TALLY_TEST_DATABASE_URL` and `TALLY_TEST_REDIS_URL` are set (scripts/test sets them), and
/// is required, failing loudly when missing, under `TALLY_TEST_REQUIRE_ALL_BACKENDS=1`.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { self == .sqlite ? "sqlite (embedded)" : "postgres+redis (production)" }

    /// The backends to run in this environment.
    public static var available: [TestBackend] {
        let env = ProcessInfo.processInfo.environment
        if env["TALLY_TEST_DATABASE_URL"] != nil || env["TALLY_TEST_REQUIRE_ALL_BACKENDS"] == "1" { return [.sqlite, .postgres] }
        return [.sqlite]
    }

    public static let logger: Logger = {
        var logger = Logger(label: "tally.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Settings for a fresh, empty database on this backend, torn down after `body`.
    public func withFreshSettings<T: Sendable>(_ body: (Settings) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var settings = Settings.defaults
            settings.dataDir = dir
            return try await body(settings)
        case .postgres:
            let env = ProcessInfo.processInfo.environment
            guard let adminText = env["TALLY_TEST_DATABASE_URL"], let redisText = env["TALLY_TEST_REDIS_URL"] else {
                throw TestSetupError("TALLY_TEST_DATABASE_URL and TALLY_TEST_REDIS_URL must be set to run the postgres backend (scripts/test sets them)")
            }
            let admin = try PostgresURL.parse(adminText, setting: "TALLY_TEST_DATABASE_URL")
            let name = "tally_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))"
            try await Self.admin(admin) { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger) }
            var url = admin
            url.database = name
            var settings = Settings.defaults
            settings.dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(name)").path
            settings.backend = .production(database: url, redis: try RedisURL.parse(redisText, setting: "TALLY_TEST_REDIS_URL"))
            settings.databasePoolSize = 8
            settings.redisKeyPrefix = "\(name):"
            do {
                let result = try await body(settings)
                try? await Self.admin(admin) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: Self.logger) }
                return result
            } catch {
                try? await Self.admin(admin) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: Self.logger) }
                throw error
            }
        }
    }

    /// Opens a fresh, migrated backend for `body`.
    public func withBackend<T: Sendable>(_ body: (StorageBackend, Settings) async throws -> T) async throws -> T {
        try await withFreshSettings { settings in
            try await StorageBackend.withBackend(settings, logger: Self.logger) { backend in
                _ = try await backend.migrations.migrate()
                return try await body(backend, settings)
            }
        }
    }

    /// Runs raw SQL on the backend's database (to tamper with state the API never lets change).
    public static func execute(_ sql: String, on backend: StorageBackend) async throws {
        if let store = backend.store as? SQLitePlatformStore {
            _ = try await store.database.transaction { try await $0.query(sql) }
        } else if let store = backend.store as? PostgresPlatformStore {
            try await store.client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    private static func admin(_ url: PostgresURL, _ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: try StorageBackend.postgresConfiguration(url, poolSize: 1), backgroundLogger: PostgresBackgroundLogHandler.wrapping(logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}

/// The test environment lacks something a test needs.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
