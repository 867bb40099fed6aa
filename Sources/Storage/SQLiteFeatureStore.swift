import Core
import Entitlements
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The feature catalog in the SQLite file.
public struct SQLiteFeatureStore: FeatureStore {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    public func insertFeature(_ feature: Feature, at: Date) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO features (key, name, kind, meter, created_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(feature.key), .text(feature.name), .text(feature.kind.rawValue), feature.meter.map { .text($0) } ?? .null, Optional(at).sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintPrimaryKeyFailed || error.reason == .constraintUniqueFailed {
            throw TallyError(.conflict, "a feature with key '\(feature.key)' already exists", field: "key")
        }
    }

    public func features() async throws -> [Feature] {
        try await read("SELECT key, name, kind, meter FROM features ORDER BY key", [])
    }

    public func feature(key: String) async throws -> Feature? {
        try await read("SELECT key, name, kind, meter FROM features WHERE key = ?", [.text(key)]).first
    }

    private func read(_ sql: String, _ binds: [SQLiteData]) async throws -> [Feature] {
        try await database.read(sql, binds).map { row in
            try StoredFeature.make(key: try row.text("key"), name: try row.text("name"), kind: try row.text("kind"), meter: row.optionalText("meter"))
        }
    }
}
