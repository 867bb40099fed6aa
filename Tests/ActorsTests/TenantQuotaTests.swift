import Actors
import Core
import Entitlements
import Logging
import Metering
import Synchronization
import Testing

/// The tenant's quota under concurrent charges and reloads: a hard limit is reached exactly,
/// never passed, and reloads while ingest runs count each booking once.
@Suite struct TenantQuotaTests {
    /// A stand-in ledger: bookings commit here, and loads read it.
    final class Ledger: Sendable {
        let booked = Mutex(0)
        let loads = Mutex(0)
    }

    static func quota(limit: Int, ledger: Ledger, refresh: Duration) -> TenantQuota {
        let window = PeriodWindow(start: 0, end: 4_000_000_000, resetsAt: 4_000_000_000)
        return TenantQuota(
            tenantID: .generate(),
            loader: { _, _ in
                ledger.loads.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(2))  // a read that takes a while, as a database's does
                let used = ledger.booked.withLock { $0 }
                return QuotaBook(lines: ["calls": QuotaBook.Line(
                    feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(limit)), window: window, grants: [], used: Quantity(used)
                )])
            },
            refresh: refresh, leasing: nil, logger: Logger(label: "test")
        )
    }

    @Test func concurrentChargesWithReloadsReachTheLimitExactly() async throws {
        let ledger = Ledger()
        let quota = Self.quota(limit: 2_000, ledger: ledger, refresh: .milliseconds(10))
        let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var accepted = 0
                    for _ in 0..<400 {
                        try await Task.sleep(for: .microseconds(200))
                        let outcomes = try await quota.charge([[("calls", Quantity.one)], [("calls", Quantity.one)]], now: 1_000)
                        for case .charged(let charges) in outcomes {
                            ledger.booked.withLock { $0 += 1 }  // the commit
                            await Task.yield()
                            _ = quota.settle(charges, booked: true)
                            accepted += 1
                        }
                    }
                    return accepted
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(accepted == 2_000)
        #expect(ledger.booked.withLock { $0 } == 2_000)
        #expect(ledger.loads.withLock { $0 } > 5)  // the book was reloaded while charges ran
        let check = try await quota.check("calls", amount: .zero, now: 1_000)
        #expect(check?.used == Quantity(2_000))
        #expect(check?.allowed == false)
    }

    @Test func unsettledAndDuplicateChargesAreReleased() async throws {
        let ledger = Ledger()
        let quota = Self.quota(limit: 3, ledger: ledger, refresh: .seconds(60))
        let first = try await quota.charge([[("calls", Quantity(2))]], now: 1_000)
        guard case .charged(let charges) = first.first else { Issue.record("refused"); return }
        // While 2 are in flight only 1 more fits.
        let second = try await quota.charge([[("calls", Quantity(2))]], now: 1_000)
        guard case .refused = second.first else { Issue.record("allowed"); return }
        _ = quota.settle(charges, booked: false)  // a duplicate: it counts nothing
        let third = try await quota.charge([[("calls", Quantity(3))]], now: 1_000)
        guard case .charged = third.first else { Issue.record("refused after release"); return }
    }
}
