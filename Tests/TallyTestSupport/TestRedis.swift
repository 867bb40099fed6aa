import Core
import Foundation
import Storage

/// The test Redis server, from `TALLY_TEST_REDIS_URL`.
public enum TestRedis {
    /// Whether Redis tests run here (required under `TALLY_TEST_REQUIRE_ALL_BACKENDS=1`).
    public static var enabled: Bool { TestBackend.available.contains(.postgres) }

    public static func url() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment["TALLY_TEST_REDIS_URL"] else {
            throw TestSetupError("TALLY_TEST_REDIS_URL must be set (scripts/test sets it)")
        }
        return try RedisURL.parse(text, setting: "TALLY_TEST_REDIS_URL")
    }

    /// A client for `body`, shut down afterwards.
    public static func withClient<T: Sendable>(_ configure: (inout RedisClient.Configuration) -> Void = { _ in }, _ body: (RedisClient) async throws -> T) async throws -> T {
        var configuration = RedisClient.Configuration(url: try url())
        configure(&configuration)
        let client = RedisClient(configuration: configuration, logger: TestBackend.logger)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
