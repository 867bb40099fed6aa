import Core
import HTTPTypes
import Synchronization
import Hummingbird
import Storage

/// `/health/live` (the process serves) and `/health/ready` (every dependency answers in time).
struct HealthRoutes {
    let dependencies: [DependencyCheck]
    /// How long each dependency may take before it counts as failed.
    let timeout: Duration
    /// Dependencies whose last probe has not answered yet (a stalled database may hold a probe
    /// for long): they are not probed again until it does, so polling cannot pile probes up.
    let probing = ProbesInFlight()

    final class ProbesInFlight: Sendable {
        private let names = Mutex(Set<String>())
        /// `true` if `name` was not being probed (and now is).
        func start(_ name: String) -> Bool { names.withLock { $0.insert(name).inserted } }
        func finish(_ name: String) { _ = names.withLock { $0.remove(name) } }
    }

    static let liveBody = Array(TallyHTTPServer.liveText.utf8)

    struct Status: Encodable, Sendable {
        let status: String
        let error: String?
    }

    func register(on router: Router<TallyRequestContext>) {
        // Written once: liveness is probed often and is the baseline `tally bench check` reads.
        router.get("health/live") { _, _ in
            JSONBody.response(bytes: Self.liveBody)
        }
        router.get("health/ready") { _, context in
            let results = await check()
            let failing = results.filter { $0.value.status != "ok" }.keys.sorted()
            guard failing.isEmpty else {
                let checks = results.mapValues { status -> JSONValue in
                    var object: [String: JSONValue] = ["status": .string(status.status)]
                    if let error = status.error { object["error"] = .string(error) }
                    return .object(object)
                }
                return ProblemResponse.make(
                    TallyError(.dependencyUnavailable, "not ready: \(failing.joined(separator: ", "))"),
                    requestID: context.requestID, extra: ["checks": .object(checks)], headers: [.retryAfter: "1"]
                )
            }
            return try JSONBody.response(ReadyBody(status: "ok", checks: results))
        }
    }

    struct ReadyBody: Encodable {
        let status: String
        let checks: [String: Status]
    }

    /// Probes every dependency concurrently, each bounded by `timeout`.
    func check() async -> [String: Status] {
        await withTaskGroup(of: (String, Status).self) { group in
            for dependency in dependencies {
                group.addTask { [probing] in
                    guard probing.start(dependency.name) else {
                        return (dependency.name, Status(status: "failed", error: "the previous probe has not answered yet"))
                    }
                    do {
                        try await Self.withTimeout(timeout) {
                            defer { probing.finish(dependency.name) }
                            try await dependency.probe()
                        }
                        return (dependency.name, Status(status: "ok", error: nil))
                    } catch is TimeoutError {
                        return (dependency.name, Status(status: "failed", error: "no answer within \(timeout)"))
                    } catch {
                        return (dependency.name, Status(status: "failed", error: Self.summary(of: error)))
                    }
                }
            }
            var results: [String: Status] = [:]
            for await (name, status) in group { results[name] = status }
            return results
        }
    }

    struct TimeoutError: Error {}

    /// Runs `body`, or throws `TimeoutError` after `limit` without waiting for it: a probe
    /// stuck on a stopped server may not react to cancellation, so it is left to finish on its
    /// own (in a task of its own) rather than awaited, as a task group would.
    static func withTimeout(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let once = ResumeOnce(continuation)
            let probe = Task {
                do {
                    try await body()
                    _ = once.resume(with: .success(()))
                } catch {
                    _ = once.resume(with: .failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                if once.resume(with: .failure(TimeoutError())) { probe.cancel() }
            }
        }
    }

    /// Resumes a continuation once, whoever comes first.
    final class ResumeOnce: Sendable {
        private let continuation: Mutex<CheckedContinuation<Void, any Error>?>

        init(_ continuation: CheckedContinuation<Void, any Error>) { self.continuation = Mutex(continuation) }

        /// `true` for the caller that resumed it.
        func resume(with result: Result<Void, any Error>) -> Bool {
            guard let continuation = continuation.withLock({ $0.take() }) else { return false }
            continuation.resume(with: result)
            return true
        }
    }

    /// A short, non-sensitive reason: the error's type and kind, never connection strings.
    static func summary(of error: any Error) -> String {
        if let redis = error as? RedisError { return "redis \(redis.kind)" }
        if StorageAvailability.isUnavailable(error) { return "unreachable" }
        return "error (\(type(of: error)))"
    }
}
