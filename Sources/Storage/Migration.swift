import Core
import Crypto

/// One numbered, forward-only schema change, as compiled from `migrations/<dialect>/`.
public struct Migration: Sendable, Equatable {
    /// The number before the first underscore of the file name.
    public let version: Int
    /// The rest of the file name, without `.sql`.
    public let name: String
    /// The file's SQL text.
    public let sql: String
    /// SHA-256 of `sql` as lowercase hex: an applied migration whose text changed is refused.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = Array(SHA256.hash(data: Array(sql.utf8))).hexString
    }

    /// Parses `0001_platform.sql` into version 1, name `platform`.
    public init?(file: String, sql: String) {
        guard file.hasSuffix(".sql"), let underscore = file.firstIndex(of: "_"),
              let version = Int(file[..<underscore]), version > 0 else { return nil }
        let name = file[file.index(after: underscore)...].dropLast(4)
        self.init(version: version, name: String(name), sql: sql)
    }

    /// The migrations compiled into this binary for a dialect, in version order.
    public static func embedded(_ dialect: SQLDialect) -> [Migration] {
        let files = dialect == .postgres ? EmbeddedMigrations.postgres : EmbeddedMigrations.sqlite
        return files.map { file in
            guard let migration = Migration(file: file.file, sql: file.sql) else {
                preconditionFailure("migration file \(file.file) is not named NNNN_name.sql")
            }
            return migration
        }.sorted { $0.version < $1.version }
    }
}

/// The SQL dialects Tally ships migrations for.
public enum SQLDialect: String, Sendable { case postgres, sqlite }

/// A row of `schema_migrations`: what a database says it has applied.
public struct AppliedMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let checksum: String

    public init(version: Int, name: String, checksum: String) {
        self.version = version
        self.name = name
        self.checksum = checksum
    }
}

/// Decides which migrations to apply, pure: compares the binary's list with the database's.
public enum MigrationPlan {
    /// The migrations still to apply, in order.
    /// - Throws: `MigrationError` when an applied migration was edited, is unknown to this
    ///   binary (the database is newer), or the binary's own list is not strictly increasing.
    public static func pending(available: [Migration], applied: [AppliedMigration]) throws(MigrationError) -> [Migration] {
        var seen = Set<Int>()
        for migration in available where !seen.insert(migration.version).inserted {
            throw .duplicateVersion(migration.version)
        }
        let known = Dictionary(uniqueKeysWithValues: available.map { ($0.version, $0) })
        for row in applied {
            guard let migration = known[row.version] else { throw .unknownApplied(version: row.version, name: row.name) }
            guard migration.checksum == row.checksum else {
                throw .checksumMismatch(version: row.version, name: row.name, applied: row.checksum, file: migration.checksum)
            }
        }
        let done = Set(applied.map(\.version))
        return available.filter { !done.contains($0.version) }.sorted { $0.version < $1.version }
    }
}

/// Why migrations cannot run; each case's description is one line for an operator.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case checksumMismatch(version: Int, name: String, applied: String, file: String)
    case unknownApplied(version: Int, name: String)
    case duplicateVersion(Int)

    public var description: String {
        switch self {
        case .checksumMismatch(let version, let name, let applied, let file):
            "migration \(version) (\(name)) was edited after it was applied: database has checksum \(applied.prefix(12)), file has \(file.prefix(12)); add a new migration instead of editing an applied one"
        case .unknownApplied(let version, let name):
            "the database has migration \(version) (\(name)) applied, which this tally binary does not know: it is older than the schema; upgrade tally"
        case .duplicateVersion(let version):
            "two migration files share version \(version)"
        }
    }
}

