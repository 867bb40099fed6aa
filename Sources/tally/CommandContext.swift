import Actors
import Core
import Logging
import Synchronization
import Platform
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// What a command that touches storage shares: loading settings (exiting on bad ones),
/// logging, and opening the migrated backend.
enum CommandContext {
    /// Exit status for bad configuration (sysexits.h EX_CONFIG).
    static let configurationExitCode: Int32 = 78

    /// The settings, or a one-line error on standard error and exit 78.
    static func settings(_ options: GlobalOptions) async -> Settings {
        do {
            return try await SettingsLoader.load(configFile: options.config)
        } catch let error as ConfigurationError {
            fail("tally: \(error)", code: configurationExitCode)
        } catch {
            fail("tally: invalid configuration: \(error)", code: configurationExitCode)
        }
    }

    /// The batched log output of `serve` and `worker`, flushed by an exit handler.
    static let logWriter = Mutex<BufferedLineWriter?>(nil)

    /// Installs the JSON log handler at the configured level, once per process: on standard
    /// output for `serve` and `worker` (batched: `BufferedLineWriter`, flushed at exit), on
    /// standard error, line by line, for commands that print results.
    static func bootstrapLogging(_ settings: Settings, toStandardError: Bool = true) -> Logger {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        if toStandardError {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, fileDescriptor: 2) }
        } else {
            let writer = BufferedLineWriter(fileDescriptor: 1)
            logWriter.withLock { $0 = writer }
            atexit { CommandContext.logWriter.withLock { $0 }?.flush() }
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, writer: writer) }
        }
        var logger = Logger(label: "tally")
        logger.logLevel = level
        return logger
    }

    /// Opens the backend, applies pending migrations, and runs `body` with the platform services.
    static func withPlatform<T: Sendable>(
        _ settings: Settings, logger: Logger, _ body: (Platform, StorageBackend) async throws -> T
    ) async throws -> T {
        try await StorageBackend.withBackend(settings, logger: logger) { backend in
            try await StartupRetry.untilAvailable(logger: logger) { _ = try await backend.migrations.migrate() }
            let platform = Platform(
                store: backend.store, ledger: backend.ledger, cache: CredentialCache(ttl: .zero), usage: nil, entitlements: backend.entitlements,
                jobs: backend.jobs, webhooks: backend.webhooks, webhookPolicy: JobServices.policy(settings),
                inboundWebhookSecrets: settings.webhookInboundSecrets, billing: backend.billing,
                billingConfiguration: JobServices.billingConfiguration(settings), paymentProvider: JobServices.paymentProvider(settings)
            )
            return try await body(platform, backend)
        }
    }

    static func fail(_ message: String, code: Int32 = 1) -> Never {
        var line = message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(code)
    }
}
