import Actors
import Testing

/// When a second group commit may start beside one in flight.
@Suite struct CommitOverlapTests {
    @Test(arguments: [
        // (queued events, in flight, may start)
        (0, 0, false),  // nothing to do
        (1, 0, true),  // idle: any work starts at once
        (1, 1, false),  // small work waits for the commit in flight and joins the next group
        (255, 1, false),
        (256, 1, true),  // a backlog starts a second transaction
        (5000, 1, true),
        (5000, 2, false),  // never past the limit
    ])
    func aSecondTransactionStartsOnlyForABacklog(queued: Int, inFlight: Int, expected: Bool) {
        #expect(CommitOverlap(limit: 2, minimumEvents: 256).mayStart(queuedEvents: queued, inFlight: inFlight) == expected)
    }

    @Test func limitsAreAtLeastOne() {
        let one = CommitOverlap(limit: 0, minimumEvents: 0)
        #expect(one.limit == 1 && one.minimumEvents == 1)
        #expect(one.mayStart(queuedEvents: 1, inFlight: 0))
        #expect(!one.mayStart(queuedEvents: 10_000, inFlight: 1))
    }
}
