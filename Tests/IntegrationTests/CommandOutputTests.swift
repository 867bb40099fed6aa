import Foundation
import TallyTestSupport
import Testing

/// Commands against the database print what they did and nothing else: on PostgreSQL the
/// client is running before a command's first query (PostgresNIO logs a warning otherwise; it did
/// for most runs of `tally jobs stats`, whose query comes first).
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
