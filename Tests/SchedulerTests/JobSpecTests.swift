import Core
import Scheduler
import Testing

@Suite struct JobSpecTests {
    @Test func uniqueKeysAreScopedToTheirPeriod() {
        let day: Int64 = 86_400
        let start: Int64 = 1_800_000_000_000 - (1_800_000_000_000 % (day * 1_000))
        let a = JobSpec.uniqueKey(kind: "k", key: "x", periodSeconds: day, nowMillis: start)
        #expect(a == JobSpec.uniqueKey(kind: "k", key: "x", periodSeconds: day, nowMillis: start + day * 1_000 - 1))
        #expect(a != JobSpec.uniqueKey(kind: "k", key: "x", periodSeconds: day, nowMillis: start + day * 1_000))
        #expect(a != JobSpec.uniqueKey(kind: "other", key: "x", periodSeconds: day, nowMillis: start))
        #expect(JobSpec.uniqueKey(kind: "k", key: "x", periodSeconds: nil, nowMillis: 0) == "k:x")
    }

    @Test func badSpecsNameTheirField() throws {
        func field(_ spec: JobSpec) -> String? {
            do {
                _ = try spec.validated()
                return nil
            } catch let error as TallyError {
                return error.code == .validationFailed ? error.field : "wrong code"
            } catch {
                return "wrong error"
            }
        }
        #expect(field(JobSpec(kind: "webhook.deliver", queue: "webhooks", args: #"{"a":1}"#)) == nil)
        #expect(field(JobSpec(kind: "")) == "kind")
        #expect(field(JobSpec(kind: "Bad Kind")) == "kind")
        #expect(field(JobSpec(kind: "k", queue: String(repeating: "q", count: 129))) == "queue")
        #expect(field(JobSpec(kind: "k", priority: 0)) == "priority")
        #expect(field(JobSpec(kind: "k", priority: 5)) == "priority")
        #expect(field(JobSpec(kind: "k", maxAttempts: 0)) == "max_attempts")
        #expect(field(JobSpec(kind: "k", uniqueKey: "")) == "unique_key")
        #expect(field(JobSpec(kind: "k", args: "[1]")) == "args")
        #expect(field(JobSpec(kind: "k", args: "{")) == "args")
    }

    @Test func errorHistoryRoundTrips() {
        let errors = [JobRecord.AttemptError(attempt: 1, atMillis: 1_800_000_000_123, message: "boom \"quoted\"\n")]
        #expect(JobRecord.parseErrors(JobRecord.errorsJSON(errors)) == errors)
        #expect(JobRecord.parseErrors("not json").isEmpty)
    }
}
