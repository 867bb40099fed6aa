import Core
import Entitlements
import Logging
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The feature catalog on PostgreSQL.
public struct PostgresFeatureStore: FeatureStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func insertFeature(_ feature: Feature, at: Date) async throws {
        do {
            try await client.query(
                "INSERT INTO features (key, name, kind, meter, created_at) VALUES (\(feature.key), \(feature.name), \(feature.kind.rawValue), \(feature.meter), \(at))",
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw TallyError(.conflict, "a feature with key '\(feature.key)' already exists", field: "key")
        }
    }

    public func features() async throws -> [Feature] {
        try await read("SELECT key, name, kind, meter FROM features ORDER BY key")
    }

    public func feature(key: String) async throws -> Feature? {
        try await read("SELECT key, name, kind, meter FROM features WHERE key = \(key)").first
    }

    private func read(_ query: PostgresQuery) async throws -> [Feature] {
        try await client.query(query, logger: logger).collect().map { row in
            let (key, name, kind, meter) = try row.decode((String, String, String, String?).self)
            return try StoredFeature.make(key: key, name: name, kind: kind, meter: meter)
        }
    }
}
