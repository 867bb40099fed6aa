import Core
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One SQLite database file in WAL mode: a writer connection whose transactions are
/// serialised by `AsyncLock`, and a reader connection that WAL lets run beside it.
public final class SQLiteDatabaseFile: Sendable {
    /// The file's path.
    public let path: String
    let writer: SQLiteConnection
    let reader: SQLiteConnection
    let writeLock = AsyncLock()
    let logger: Logger

    private init(path: String, writer: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.path = path
        self.writer = writer
        self.reader = reader
        self.logger = logger
    }

    /// Opens (creating if needed) the file with WAL, full sync, foreign keys and a busy timeout.
    public static func open(path: String, threadPool: NIOThreadPool = .singleton, logger: Logger) async throws -> SQLiteDatabaseFile {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: loop)
        // WAL: readers never block the writer; FULL: a commit is on disk before it returns.
        _ = try await writer.query("PRAGMA journal_mode = WAL")
        for pragma in ["PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000"] {
            _ = try await writer.query(pragma)
        }
        let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: loop)
        for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000", "PRAGMA query_only = ON"] {
            _ = try await reader.query(pragma)
        }
        return SQLiteDatabaseFile(path: path, writer: writer, reader: reader, logger: logger)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` on the writer, rolling back if it throws.
    /// IMMEDIATE takes SQLite's write lock at once, which also serialises other processes.
    public func transaction<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            _ = try await writer.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(writer)
                _ = try await writer.query("COMMIT")
                return result
            } catch {
                _ = try? await writer.query("ROLLBACK")
                throw error
            }
        }
    }

    /// A read on the reader connection.
    public func read(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await reader.query(sql, binds)
    }

    /// Closes both connections.
    public func close() async throws {
        try await reader.close()
        try await writer.close()
    }
}

extension SQLiteRow {
    func text(_ column: String) throws -> String {
        guard let value = self.column(column)?.string else { throw StorageDecodingError(column: column) }
        return value
    }

    func optionalText(_ column: String) -> String? {
        guard let data = self.column(column), data != .null else { return nil }
        return data.string
    }

    func int(_ column: String) throws -> Int {
        guard let value = self.column(column)?.integer else { throw StorageDecodingError(column: column) }
        return value
    }

    func date(_ column: String) throws -> Date {
        Date(microsecondsSinceEpoch: Int64(try int(column)))
    }

    func optionalDate(_ column: String) -> Date? {
        guard let data = self.column(column), data != .null, let micros = data.integer else { return nil }
        return Date(microsecondsSinceEpoch: Int64(micros))
    }
}

/// A stored row that did not have the shape the schema promises.
public struct StorageDecodingError: Error, CustomStringConvertible {
    public let column: String
    public var description: String { "stored row has a missing or malformed \(column)" }
}

extension Date {
    /// Microseconds since the Unix epoch, as both drivers store instants.
    public var microsecondsSinceEpoch: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }

    public init(microsecondsSinceEpoch micros: Int64) {
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}

extension Optional where Wrapped == Date {
    var sqliteData: SQLiteData {
        guard let date = self else { return .null }
        return .integer(Int(date.microsecondsSinceEpoch))
    }
}
