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
    /// Wakes this process's idle workers when a job in this file may have become ready.
    public let jobWake = JobWake()
    let logger: Logger

    private init(path: String, writer: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.path = path
        self.writer = writer
        self.reader = reader
        self.logger = logger
    }

    /// Opens (creating if needed) the file with WAL, full sync, foreign keys and a busy timeout.
    /// The busy timeout comes first: switching to WAL takes a lock that another process opening
    /// the same file may hold for a moment. A connection whose setup fails is closed before the
    /// error is thrown (SQLiteNIO requires every connection closed).
    public static func open(path: String, threadPool: NIOThreadPool = .singleton, logger: Logger) async throws -> SQLiteDatabaseFile {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        // WAL: readers never block the writer; FULL: a commit is on disk before it returns.
        let writer = try await connection(
            path, ["PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"],
            threadPool: threadPool, logger: logger, on: loop
        )
        let reader: SQLiteConnection
        do {
            reader = try await connection(
                path, ["PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON", "PRAGMA query_only = ON"],
                threadPool: threadPool, logger: logger, on: loop
            )
        } catch {
            try? await writer.close()
            throw error
        }
        return SQLiteDatabaseFile(path: path, writer: writer, reader: reader, logger: logger)
    }

    /// A connection to the file with `pragmas` run, or closed again if one of them fails.
    private static func connection(
        _ path: String, _ pragmas: [String], threadPool: NIOThreadPool, logger: Logger, on loop: any EventLoop
    ) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: loop)
        do {
            for pragma in pragmas {
                // SQLite answers "busy" without waiting when waiting could deadlock, as when
                // connections opening a fresh file at once all reach for the lock WAL needs. The
                // mode is the file's: once one has set it, the others find it set.
                var attempt = 0
                while true {
                    do {
                        _ = try await connection.query(pragma)
                        break
                    } catch let error as SQLiteError where error.reason == .busy && attempt < 50 {
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(10 * min(attempt, 10)))
                    }
                }
            }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
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
