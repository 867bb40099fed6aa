import Core
import Foundation
import Scheduler
import Storage
import TallyTestSupport
import Testing

/// `/v1/jobs` end to end on both backends: enqueue, read, list, cancel, the dead-letter queue's
/// list, replay and purge, and every bad input refused with its field and nothing changed.
@Suite struct JobHTTPTests {
    @Test(arguments: TestBackend.available)
    func operatorsEnqueueInspectAndCancel(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let op = server.operatorToken
            let tenant = try await server.makeTenant("jobs-a")
            let created = try await server.call(.post, "/v1/jobs", token: op, json: [
                "kind": "tally.noop", "queue": "reports", "tenant_id": tenant.tenantID, "args": ["n": 1], "priority": 1,
                "unique_key": "daily", "unique_period_seconds": 86_400,
            ])
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.object["id"] as? String)
            #expect(created.object["state"] as? String == "available" && created.object["queue"] as? String == "reports")
            #expect((created.object["args"] as? [String: Any])?["n"] as? Int == 1)
            #expect(created.object["max_attempts"] as? Int == 25 && created.object["attempt"] as? Int == 0)

            // The same unique key in the same period: the existing job, 200.
            let again = try await server.call(.post, "/v1/jobs", token: op, json: ["kind": "tally.noop", "unique_key": "daily", "unique_period_seconds": 86_400])
            #expect(again.status == 200 && again.object["id"] as? String == id)

            let later = try await server.call(.post, "/v1/jobs", token: op, json: ["kind": "tally.noop", "run_at": "2099-01-01T00:00:00Z"])
            #expect(later.object["state"] as? String == "scheduled" && later.object["run_at"] as? String == "2099-01-01T00:00:00Z")

            #expect(try await server.call(.get, "/v1/jobs/\(id)", token: op).object["tenant_id"] as? String == tenant.tenantID)
            #expect(try await server.call(.get, "/v1/jobs?queue=reports", token: op).items.map { $0["id"] as? String } == [id])
            #expect(try await server.call(.get, "/v1/jobs?state=scheduled", token: op).items.count == 1)
            #expect(try await server.call(.get, "/v1/jobs?tenant_id=\(tenant.tenantID)", token: op).items.count == 1)
            let paged = try await server.call(.get, "/v1/jobs?limit=1", token: op)
            #expect(paged.items.count == 1 && paged.object["has_more"] as? Bool == true)
            let cursor = try #require(paged.object["next_cursor"] as? String)
            #expect(try await server.call(.get, "/v1/jobs?limit=1&after=\(cursor)", token: op).items.count == 1)
            // The tenant sees its own job.
            #expect(try await server.call(.get, "/v1/jobs", token: tenant.token).items.map { $0["id"] as? String } == [id])

            let stats = try await server.call(.get, "/v1/jobs/stats", token: op).items
            #expect(stats.contains { $0["queue"] as? String == "reports" && $0["state"] as? String == "available" && $0["count"] as? Int == 1 })

            let cancelled = try await server.call(.post, "/v1/jobs/\(id)/cancel", token: op)
            #expect(cancelled.status == 200 && cancelled.object["state"] as? String == "cancelled" && cancelled.object["finalized_at"] is String)
            #expect(try await server.call(.post, "/v1/jobs/\(id)/cancel", token: op).object["state"] as? String == "cancelled")
            #expect(try await server.call(.get, "/v1/jobs/job_00000000000000000000000000", token: op).status == 404)
            #expect(try await server.call(.get, "/v1/jobs/nope", token: op).status == 404)
        }
    }

    @Test(arguments: TestBackend.available)
    func deadJobsAreListedReplayedAndPurged(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let op = server.operatorToken
            let queue = server.backend.jobs
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            // Two jobs die: one of kind a, one of kind b.
            _ = try await queue.enqueue([JobSpec(kind: "kind.a", maxAttempts: 1), JobSpec(kind: "kind.b", maxAttempts: 1)], nowMillis: now)
            let running = try await queue.fetch(queue: "default", limit: 5, worker: "w", nowMillis: now, visibilityMillis: 60_000)
            try await queue.fail(running.map { job in
                JobFailureReport(lease: JobLease(job), decision: JobFailure.Decision(event: .failFinal, runAtMillis: nil, attempt: 1), message: "gave up on \(job.spec.kind)")
            }, nowMillis: now)

            let dead = try await server.call(.get, "/v1/jobs/dead", token: op)
            #expect(dead.items.count == 2)
            let errors = dead.items.compactMap { ($0["errors"] as? [[String: Any]])?.first?["message"] as? String }.sorted()
            #expect(errors == ["gave up on kind.a", "gave up on kind.b"])
            #expect(try await server.call(.get, "/v1/jobs/dead?kind=kind.a", token: op).items.count == 1)
            #expect(try await server.call(.get, "/v1/jobs/dead?older_than=3600", token: op).items.isEmpty)

            let replayed = try await server.call(.post, "/v1/jobs/dead/replay", token: op, json: ["kind": "kind.a"])
            #expect(replayed.status == 200 && replayed.object["replayed"] as? Int == 1)
            #expect(try await server.call(.get, "/v1/jobs?kind=kind.a", token: op).items.first?["state"] as? String == "available")
            let later = Int64(Date().timeIntervalSince1970 * 1_000) + 5_000
            #expect(try await queue.fetch(queue: "default", limit: 5, worker: "w", nowMillis: later, visibilityMillis: 60_000).map(\.spec.kind) == ["kind.a"])

            let purged = try await server.call(.post, "/v1/jobs/dead/purge", token: op, json: ["all": true])
            #expect(purged.object["purged"] as? Int == 1)
            #expect(try await server.call(.get, "/v1/jobs/dead", token: op).items.isEmpty)
        }
    }

    @Test(arguments: TestBackend.available)
    func badInputIsRefusedWithItsFieldAndChangesNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let op = server.operatorToken
            let cases: [([String: Any], String)] = [
                ([:], "kind"),
                (["kind": ""], "kind"),
                (["kind": "Bad Kind"], "kind"),
                (["kind": 5], "kind"),
                (["kind": "k", "queue": "no spaces"], "queue"),
                (["kind": "k", "priority": 9], "priority"),
                (["kind": "k", "priority": 1.5], "priority"),
                (["kind": "k", "max_attempts": 0], "max_attempts"),
                (["kind": "k", "args": [1, 2]], "args"),
                (["kind": "k", "run_at": "tomorrow"], "run_at"),
                (["kind": "k", "tenant_id": "ten_nope"], "tenant_id"),
                (["kind": "k", "tenant_id": "ten_00000000000000000000000000"], "tenant_id"),
                (["kind": "k", "unique_period_seconds": 60], "unique_period_seconds"),
                (["kind": "k", "unique_key": "x", "unique_period_seconds": 0], "unique_period_seconds"),
                (["kind": "k", "colour": "blue"], "colour"),
            ]
            for (body, field) in cases {
                let reply = try await server.call(.post, "/v1/jobs", token: op, json: body)
                #expect(reply.status == 422 && reply.object["code"] as? String == "validation_failed" && reply.object["field"] as? String == field,
                        "\(body): \(reply.text)")
            }
            #expect(try await server.call(.post, "/v1/jobs", token: op, rawBody: "{").object["code"] as? String == "malformed_json")
            #expect(try await server.call(.get, "/v1/jobs?state=sleeping", token: op).object["field"] as? String == "state")
            #expect(try await server.call(.get, "/v1/jobs?older_than=-1", token: op).object["field"] as? String == "older_than")
            #expect(try await server.call(.get, "/v1/jobs?after=x", token: op).object["field"] as? String == "after")
            for (body, field) in [([:], "all"), (["ids": []], "ids"), (["ids": ["nope"]], "ids"), (["queue": 3], "queue"), (["x": 1], "x")] as [([String: Any], String)] {
                let reply = try await server.call(.post, "/v1/jobs/dead/replay", token: op, json: body)
                #expect(reply.status == 422 && reply.object["field"] as? String == field, "\(body): \(reply.text)")
            }
            #expect(try await server.call(.get, "/v1/jobs", token: op).items.isEmpty)
            // A tenant key may read its own jobs but not enqueue or manage the queue.
            let tenant = try await server.makeTenant("jobs-b")
            #expect(try await server.call(.post, "/v1/jobs", token: tenant.token, json: ["kind": "tally.noop"]).status == 403)
            #expect(try await server.call(.get, "/v1/jobs/stats", token: tenant.token).status == 403)
        }
    }
}
