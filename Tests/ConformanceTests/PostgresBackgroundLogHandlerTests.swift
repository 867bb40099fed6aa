import Logging
import Synchronization
@testable import Storage
import Testing

/// PostgresNIO's "run() hasn't been called yet" warning goes out at debug (StorageBackend starts
/// the client before its first query; the client only counts as running a moment later); every
/// other line passes as it is.
@Suite struct PostgresBackgroundLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
    }

    struct Recording: LogHandler {
        let lines: Lines
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.lines.withLock { $0.append((event.level, event.message.description)) }
        }
    }

    static let notRunYet = "Trying to lease connection from `PostgresClient`, but `PostgresClient.run()` hasn't been called yet."

    @Test(arguments: [Logger.Level.info, .debug])
    func theNotRunYetWarningIsDebug(level: Logger.Level) {
        let lines = Lines()
        let logger = PostgresBackgroundLogHandler.wrapping(Logger(label: "tally") { _ in Recording(lines: lines, logLevel: level) })
        logger.warning("\(Self.notRunYet)")
        logger.warning("Connection to the database lost")
        logger.error("\(Self.notRunYet)")  // only the warning is known to be benign
        let seen = lines.lines.withLock { $0 }
        let expected: [(Logger.Level, String)] = (level == .debug ? [(.debug, Self.notRunYet)] : [])
            + [(.warning, "Connection to the database lost"), (.error, Self.notRunYet)]
        #expect(seen.map(\.0) == expected.map(\.0))
        #expect(seen.map(\.1) == expected.map(\.1))
    }
}
