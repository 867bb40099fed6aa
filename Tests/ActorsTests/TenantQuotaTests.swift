import Actors
import Core
import Entitlements
import Logging
import Metering
import Synchronization
import TallyTestSupport
import Testing

/// The tenant's quota under concurrent charges and reloads: a hard limit is reached exactly,
/// never passed, and reloads while ingest runs count each booking once.
@Suite struct TenantQuotaTests {
    /// A stand-in ledger: bookings commit here, and loads read it.
    final class Ledger: Sendable {
        let booked = Mutex(0)
        let loads = Mutex(0)
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

    /// A door the test opens: loads after the first wait at it.
    final class Door: Sendable {
        private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
        let arrivals = Mutex(0)

        func pass() async {
            await withCheckedContinuation { continuation in
                let through = state.withLock { state -> Bool in
                    arrivals.withLock { $0 += 1 }
                    if state.open { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if through { continuation.resume() }
            }
        }

        func open() {
            for waiting in state.withLock({ state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.waiting = [] }
                return state.waiting
            }) { waiting.resume() }
        }
    }

    /// A quota over `ledger`. Each load reads the ledger after 2 ms (a read that takes a while, as
    /// a database's does); with a `door`, the first load answers at once and later ones wait at it.
    static func quota(limit: Int, ledger: Ledger, refresh: Duration, door: Door? = nil, gateTimeout: Duration = .seconds(3)) -> TenantQuota {
        let window = PeriodWindow(start: 0, end: 4_000_000_000, resetsAt: 4_000_000_000)
        return TenantQuota(
            tenantID: .generate(),
            loader: { _, _ in
                let load = ledger.loads.withLock { $0 += 1; return $0 }
                if let door {
                    if load > 1 { await door.pass() }
                } else {
                    try await Task.sleep(for: .milliseconds(2))
                }
                let used = ledger.booked.withLock { $0 }
                return QuotaBook(lines: ["calls": QuotaBook.Line(
                    feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(limit)), window: window, grants: [], used: Quantity(used)
                )])
            },
            refresh: refresh, leasing: nil, logger: Logger(label: "test"), gateTimeout: gateTimeout
        )
    }

    @Test func aReloadWaitsForChargesInFlightAndChargesWaitForTheReload() async throws {
        let ledger = Ledger(), door = Door()
        // The test opens every gate itself; a long timeout keeps a slow (loaded) machine from
        // giving up on a wait the test is about to end.
        let quota = Self.quota(limit: 10, ledger: ledger, refresh: .milliseconds(50), door: door, gateTimeout: .seconds(60))
        let first = try await quota.charge([[("calls", Quantity(4))]], now: 1_000)
        guard case .charged(let inFlight) = first.first else { Issue.record("refused"); return }
        // Once the book is older than `refresh`, a check (answered from it at once) starts a
        // reload in the background while those 4 are in flight: the reload waits for them to
        // settle before reading usage, and new charges wait for the reload.
        try await Task.sleep(for: .milliseconds(60))
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == Quantity(4))
        try await Polling.until { quota.isReloadGated }
        let charged = Mutex(false)
        let waiting = Task {
            defer { charged.withLock { $0 = true } }
            return try await quota.charge([[("calls", Quantity(6))]], now: 1_000)
        }
        try await Task.sleep(for: .milliseconds(20))
        #expect(ledger.loads.withLock { $0 } == 1)  // not read while 4 are unsettled
        ledger.booked.withLock { $0 += 4 }  // the commit
        _ = quota.settle(inFlight, booked: true)
        try await Polling.until { door.arrivals.withLock { $0 } == 1 }  // now it reads
        try await Task.sleep(for: .milliseconds(20))
        #expect(!charged.withLock { $0 })  // the new charge waits for the reload
        door.open()
        // The reloaded book holds the 4 once (twice, and the 6 would not fit): exactly 6 more fit.
        guard case .charged? = try await waiting.value.first else { Issue.record("the waiting charge was refused"); return }
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == Quantity(10))
        guard case .refused? = try await quota.charge([[("calls", Quantity.one)]], now: 1_000).first else {
            Issue.record("the limit was passed"); return
        }
    }

    /// A reload that starts while a void's commit is in flight waits for the void to be booked
    /// in memory, so the usage it takes back is counted once: read from the ledger, not taken
    /// off again afterwards (which would let ingest pass the limit by the voided amount).
    @Test func aReloadDuringACorrectionCountsItOnce() async throws {
        let ledger = Ledger()
        let quota = Self.quota(limit: 10, ledger: ledger, refresh: .seconds(60), gateTimeout: .seconds(60))
        guard case .charged(let charges)? = try await quota.charge([[("calls", Quantity(10))]], now: 1_000).first else {
            Issue.record("refused"); return
        }
        ledger.booked.withLock { $0 += 10 }
        _ = quota.settle(charges, booked: true)
        // A void of 3 begins and commits; before it is booked in memory, a reload starts.
        let correction = try await quota.beginCorrection(now: 1_000)
        ledger.booked.withLock { $0 -= 3 }
        quota.invalidate()
        let reloaded = Mutex(false)
        let reload = Task {
            defer { reloaded.withLock { $0 = true } }
            return try await quota.check("calls", amount: .zero, now: 1_000)
        }
        try await Polling.until { quota.isReloadGated }
        try await Task.sleep(for: .milliseconds(200))  // a reload not waiting has read and finished by now
        #expect(!reloaded.withLock { $0 })
        let void = MeterReading(meter: "calls", time: 1_000_000_000, eventID: "e", value: .number(Quantity(3)), dimensions: [:])
        _ = quota.correct(correction, before: [void], after: [], eventTime: 1_000)
        #expect(try await reload.value?.used == Quantity(7))
        #expect(ledger.loads.withLock { $0 } == 2)
        guard case .refused? = try await quota.charge([[("calls", Quantity(4))]], now: 1_000).first else {
            Issue.record("the limit was passed"); return
        }
        guard case .charged? = try await quota.charge([[("calls", Quantity(3))]], now: 1_000).first else {
            Issue.record("the voided usage did not come back"); return
        }
    }

    /// A reload that gives up waiting for a correction (its commit outlasts `gateTimeout`) and
    /// reads the ledger after the commit: the usage the correction takes back is then not taken
    /// off the view again (it errs high until the next reload, never low), so the limit holds.
    @Test func aCorrectionOutlastingAReloadsWaitErrsHigh() async throws {
        let ledger = Ledger()
        let quota = Self.quota(limit: 10, ledger: ledger, refresh: .seconds(60), gateTimeout: .milliseconds(50))
        guard case .charged(let charges)? = try await quota.charge([[("calls", Quantity(10))]], now: 1_000).first else {
            Issue.record("refused"); return
        }
        ledger.booked.withLock { $0 += 10 }
        _ = quota.settle(charges, booked: true)
        let correction = try await quota.beginCorrection(now: 1_000)
        ledger.booked.withLock { $0 -= 3 }  // the void commits, slowly: a reload gives up waiting and reads 7
        quota.invalidate()
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == Quantity(7))
        #expect(ledger.loads.withLock { $0 } == 2)
        let void = MeterReading(meter: "calls", time: 1_000_000_000, eventID: "e", value: .number(Quantity(3)), dimensions: [:])
        _ = quota.correct(correction, before: [void], after: [], eventTime: 1_000)
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == Quantity(7))
        guard case .refused? = try await quota.charge([[("calls", Quantity(4))]], now: 1_000).first else {
            Issue.record("the limit was passed"); return
        }
    }

    /// A correction whose commit failed ends without booking anything, and no longer holds reloads.
    @Test func aFailedCorrectionBooksNothing() async throws {
        let ledger = Ledger()
        let quota = Self.quota(limit: 10, ledger: ledger, refresh: .seconds(60), gateTimeout: .seconds(30))
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == .zero)
        quota.endCorrection(try await quota.beginCorrection(now: 1_000))
        quota.invalidate()
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == .zero)  // no 30 s wait: the gate opened
        #expect(ledger.loads.withLock { $0 } == 2)
    }

    @Test func aChargeGivesUpOnAReloadThatDoesNotEnd() async throws {
        let ledger = Ledger(), door = Door()
        let quota = Self.quota(limit: 10, ledger: ledger, refresh: .milliseconds(20), door: door, gateTimeout: .milliseconds(100))
        #expect(try await quota.check("calls", amount: .zero, now: 1_000)?.used == .zero)
        try await Task.sleep(for: .milliseconds(30))
        _ = try await quota.check("calls", amount: .zero, now: 1_000)  // starts a reload, which hangs
        try await Polling.until { door.arrivals.withLock { $0 } == 1 }
        #expect(quota.isReloadGated)
        await #expect(throws: TallyError.self) { try await quota.charge([[("calls", Quantity.one)]], now: 1_000) }
        door.open()  // the reload ends; charges go through again
        try await Polling.until { !quota.isReloadGated }
        guard case .charged? = try await quota.charge([[("calls", Quantity.one)]], now: 1_000).first else { Issue.record("refused"); return }
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
