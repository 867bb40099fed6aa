import Logging
import Scheduler
import Storage

/// Retries start-up work while a dependency is still coming up (a database container that
/// starts with the node), with exponential backoff and jitter, for about half a minute.
enum StartupRetry {
    static let policy = RetryPolicy(base: .milliseconds(250), cap: .seconds(4), maxAttempts: 12)

    static func untilAvailable<T>(logger: Logger, _ work: () async throws -> T) async throws -> T {
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            do {
                return try await work()
            } catch where StorageAvailability.isUnavailable(error) {
                guard case .retry(let wait) = policy.decide(afterAttempt: attempt, using: &generator) else { throw error }
                logger.warning("a dependency is unavailable; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }
}
