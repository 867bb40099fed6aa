import Core
import Foundation
@testable import Platform
import Storage
import TallyTestSupport
import Testing

/// An event whose append committed but whose answer was lost, with the ledger unable to say so
/// for a moment after: the request fails, yet its quota charge stays counted until the ledger
/// says the event was booked, so the client's retry (answered `duplicate`) leaves it counted once
/// and the hard limit holds.
@Suite struct LostCommitHTTPTests {
    /// A refusal the ledger makes before booking anything is settled at once (the stale-catalog
    /// retry charges again); anything else may hide a commit and is asked about.
    @Test func refusalsMadeBeforeBookingAreNotAskedAbout() {
        #expect(!FailedAppend.mayHaveCommitted(StaleMeterCatalog(tenants: [])))
        #expect(!FailedAppend.mayHaveCommitted(TallyError.notFound("tenant")))
        #expect(!FailedAppend.mayHaveCommitted(TallyError(.unavailable, "the server is shutting down; retry on another node")))
        #expect(FailedAppend.mayHaveCommitted(LosingLedger.Lost()))
        #expect(FailedAppend.mayHaveCommitted(RedisError(.connection, "connection reset")))
    }

    /// The events a node keeps asking about are bounded: past the limit, charges are released.
    @Test func theBacklogOfQuestionsIsBounded() {
        let backlog = FailedAppendBacklog(limit: 10)
        #expect(backlog.admit(6))
        #expect(!backlog.admit(5))
        #expect(backlog.admit(4))
        #expect(!backlog.admit(1))
        backlog.done(6)
        #expect(backlog.count == 4)
        #expect(backlog.admit(6))
        #expect(MeteringService.failedAppendAsks.reduce(.zero, +) >= .seconds(50), "about a minute of asking")
        #expect(MeteringService.failedAppendAsks.allSatisfy { $0 <= .seconds(5) })
    }

    @Test(arguments: TestBackend.available)
    func aLostCommitStaysCountedAndItsRetryIsADuplicate(backend: TestBackend) async throws {
        // The committer asks once, the service's first ask fails too, its second answers.
        let flaky = LosingLedger(lostAfterCommit: true, failures: 1, silentAsks: 2)
        try await TestServer.run(backend, ledger: { flaky.wrapping($0) }) { server in
            let acme = try await EntitlementHTTPTests.setUp(server)
            let op = server.operatorToken
            let plan: [String: Any] = ["key": "three", "name": "Three", "entitlements": ["api-calls": ["limit": 3]]]
            #expect(try await server.call(.post, "/v1/plans", token: op, json: plan).status == 201)
            #expect(try await server.call(.put, "/v1/tenants/\(acme.tenantID)/entitlements", token: op, json: ["plan": "three"]).status == 200)

            let first = try await server.call(.post, "/v1/events", token: acme.token, json: EntitlementHTTPTests.event("c1"))
            #expect(first.status >= 500, "\(first)")
            #expect(try await EntitlementHTTPTests.count(server, acme.tenantID) == 1, "the append committed")
            // The ledger answers at its third ask, and the charge is settled as booked; until then it
            // counts as in flight. Either way the check counts it.
            let deadline = ContinuousClock.now + .seconds(10)
            while flaky.asks < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(flaky.asks == 3)
            let check = try await server.call(.post, "/v1/entitlements/check", token: acme.token, json: ["feature": "api-calls"])
            #expect(check.object["used"] as? String == "1", "\(check)")

            // The client retries: a duplicate, counted once; two more fit the limit of three.
            let retry = try await server.call(.post, "/v1/events", token: acme.token, json: EntitlementHTTPTests.event("c1"))
            #expect(retry.object["duplicates"] as? Int == 1, "\(retry)")
            let more = try await EntitlementHTTPTests.batch(server, acme.token, ["c2", "c3", "c4"].map { EntitlementHTTPTests.event($0) })
            #expect(EntitlementHTTPTests.statuses(more) == ["accepted", "accepted", "rejected:quota_exceeded"])
            #expect(try await EntitlementHTTPTests.count(server, acme.tenantID) == 3)
        }
    }
}
