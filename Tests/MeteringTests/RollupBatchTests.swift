import Core
import Metering
import Testing

@Suite struct RollupBatchTests {
    static let tenant = TenantID.generate()

    static func entry(_ id: String) -> LedgerEntry {
        LedgerEntry(tenantID: tenant, event: UsageEvent(id: id, source: "//s", type: "e", subject: nil, time: 0, data: [:]), receivedAt: 0, readings: [], catalogVersion: 1)
    }

    @Test func firstOccurrencesKeepTheFirstOfEachKey() {
        #expect(RollupBatch.firstOccurrences(["a", "b", "a", "c", "b"].map(Self.entry)) == [0, 1, 3])
    }

    /// What a failed append booked after all, from the positions the ledger holds with their own
    /// receipt time: only the first of a key can have been booked by it.
    @Test(arguments: [
        (["a", "b"], Set<Int>(), nil),
        (["a", "b"], Set([0, 1]), [AppendOutcome.accepted, .accepted]),
        (["a", "b"], Set([1]), [.duplicate, .accepted]),  // a was booked before, by another request
        (["a", "b", "a"], Set([0, 2]), [.accepted, .duplicate, .duplicate]),  // a's second copy is a duplicate in the batch
        (["a", "b", "a"], Set([2]), nil),  // a later copy alone says nothing: the append would not have inserted it
    ] as [([String], Set<Int>, [AppendOutcome]?)])
    func outcomesOfAFailedAppend(ids: [String], stored: Set<Int>, expected: [AppendOutcome]?) {
        #expect(RollupBatch.outcomesOfFailedAppend(ids.map(Self.entry), stored: stored) == expected)
    }
}
