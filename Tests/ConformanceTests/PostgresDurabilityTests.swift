import Core
import Foundation
import PostgresNIO
import Storage
import TallyTestSupport
import Testing

/// Tally's PostgreSQL connections commit synchronously even when the database's own default
/// says otherwise: an acknowledged event is on disk.
@Suite struct PostgresDurabilityTests {
    @Test func connectionsInsistOnSynchronousCommit() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        try await TestBackend.postgres.withBackend { storage, settings in
            let client = try #require((storage.ledger as? PostgresLedgerStore)?.client)
            let database = try #require(try await client.query("SELECT current_database()", logger: TestBackend.logger).collect().first?.decode(String.self))
            // This test's own database: its default turns synchronous commit off.
            try await client.query("ALTER DATABASE \(unescaped: "\"" + database + "\"") SET synchronous_commit = off", logger: TestBackend.logger)
            // A new backend on the same database opens new connections, which read that default first.
            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { fresh in
                let freshClient = try #require((fresh.ledger as? PostgresLedgerStore)?.client)
                let setting = try await freshClient.query("SHOW synchronous_commit", logger: TestBackend.logger).collect().first?.decode(String.self)
                #expect(setting == "on")
            }
        }
    }
}
