import Core
import HTTPTypes
import Hummingbird
import Storage

/// `/health/live` (the process serves) and `/health/ready` (every dependency answers in time).
struct HealthRoutes {
    let dependencies: [DependencyCheck]
    /// How long each dependency may take before it counts as failed.
    let timeout: Duration

    struct Status: Encodable, Sendable {
        let status: String
        let error: String?
    }

    func register(on router: Router<TallyRequestContext>) {
        router.get("health/live") { _, _ in
            try JSONBody.response(["status": "ok"])
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
                group.addTask {
                    do {
                        try await Self.withTimeout(timeout) { try await dependency.probe() }
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

    static func withTimeout(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await Task.sleep(for: limit); return false }
            defer { group.cancelAll() }
            guard try await group.next() == true else { throw TimeoutError() }
        }
    }

    /// A short, non-sensitive reason: the error's type and kind, never connection strings.
    static func summary(of error: any Error) -> String {
        if let redis = error as? RedisError { return "redis \(redis.kind)" }
        if StorageAvailability.isUnavailable(error) { return "unreachable" }
        return "error (\(type(of: error)))"
    }
}
