import Foundation
import TallyTestSupport
import Testing

/// Commands against the database print what they did and nothing else. On PostgreSQL a command's
/// first query can come before the client's `run()` has begun; PostgresNIO warned for it (for
/// most runs of `tally jobs stats`), and that warning is now logged at debug
/// (`PostgresBackgroundLogHandler`).
@Suite struct CommandOutputTests {
    @Test(arguments: TestBackend.available)
    func commandsLogNoClientWarning(backend: TestBackend) async throws {
        try await ProcessTests.withProcessEnvironment(backend) { settings, env in
            _ = try await TallyProcess.run(["migrate"], env: env)
            for _ in 0..<5 {
                let stats = try await TallyProcess.run(["jobs", "stats"], env: env)
                #expect(stats.status == 0, "\(stats.err)")
                #expect(!stats.err.contains("PostgresClient"), "\(stats.err)")
            }
        }
    }
}
