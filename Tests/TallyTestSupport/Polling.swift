/// Waiting for what another task or process does, without guessing how long it takes.
public enum Polling {
    /// Checks `condition` every `interval` until it holds; throws `TestSetupError` once
    /// `timeout` passes without it.
    public static func until(
        timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(2), _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestSetupError("the condition did not hold within \(timeout)") }
            try await Task.sleep(for: interval)
        }
    }
}
