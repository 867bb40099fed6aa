import Actors
import Core
import Foundation
import Metering
import MetricsTestKit
import ServiceLifecycle
import Storage
import Synchronization
import TallyTestSupport
import Testing

@Suite struct GroupCommitterTests {
    static let meter = MeterDefinition(slug: "n", eventType: "e", aggregation: .sum, valuePath: "n")

    static func entry(_ tenant: TenantID, _ id: String, meter: String = "n", receivedAt: Int64 = 1_795_860_000_000_000) -> LedgerEntry {
        let event = UsageEvent(id: id, source: "//s", type: "e", subject: nil, time: 1_795_860_000_000_000, data: ["n": 1])
        let reading = MeterReading(meter: meter, time: event.time, eventID: id, value: .number(.one), dimensions: [:])
        return LedgerEntry(tenantID: tenant, event: event, receivedAt: receivedAt, readings: [reading], catalogVersion: 1)  // one meter defined once
    }

    /// Runs a committer in a service group for `body`, then shuts it down gracefully.
    static func withCommitter<T: Sendable>(
        _ ledger: any LedgerAppender, overlap: CommitOverlap = CommitOverlap(), metrics: TestMetrics = TestMetrics(),
        _ body: @escaping @Sendable (GroupCommitter) async throws -> T
    ) async throws -> T {
        let committer = GroupCommitter(ledger: ledger, maxEvents: 500, overlap: overlap, metrics: metrics, logger: TestBackend.logger)
        let group = ServiceGroup(services: [committer], logger: TestBackend.logger)
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            let result = try await body(committer)
            await group.triggerGracefulShutdown()
            for try await _ in tasks {}
            return result
        }
    }

    func tenant(_ storage: StorageBackend) async throws -> TenantID {
        let now = Date()
        let tenant = Tenant(id: .generate(), slug: "acme", name: "Acme", status: .active, settings: [:], createdAt: now, updatedAt: now)
        try await storage.store.insertTenant(tenant)
        _ = try await storage.ledger.insertMeter(Self.meter, in: TenantScope(credentialTenant: tenant.id), at: now)
        return tenant.id
    }

    @Test(arguments: TestBackend.available)
    func concurrentRequestsShareCommitsAndGetTheirOwnOutcomes(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            let accepted = try await Self.withCommitter(storage.ledger) { committer in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for request in 0..<60 {
                        group.addTask {
                            // Overlapping ids: request r sends events r...r+9.
                            let outcomes = try await committer.append((request..<(request + 10)).map { Self.entry(tenantID, "e\($0)") })
                            #expect(outcomes.count == 10)
                            return outcomes.filter { $0 == .accepted }.count
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            #expect(accepted == 69, "each of the 69 distinct events is accepted exactly once")
            let rows = try await storage.ledger.rollups(in: TenantScope(credentialTenant: tenantID), meter: "n", fromWindow: 0, toWindow: .max)
            #expect(rows.reduce(Int64(0)) { $0 + $1.state.count } == 69)
        }
    }

    @Test(arguments: TestBackend.available)
    func aFailingRequestDoesNotFailItsNeighbours(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            let results = try await Self.withCommitter(storage.ledger) { committer in
                await withTaskGroup(of: Bool.self) { group in
                    for request in 0..<20 {
                        group.addTask {
                            // Request 7 names a tenant that does not exist: the ledger refuses it.
                            let entry = Self.entry(request == 7 ? TenantID.generate() : tenantID, "r\(request)")
                            return (try? await committer.append([entry])) != nil
                        }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
            }
            #expect(results.filter { $0 }.count == 19)
            let events = try await storage.ledger.events(in: TenantScope(credentialTenant: tenantID), type: "e", from: 0, to: .max)
            #expect(events.count == 19)
            #expect(!events.contains { $0.id == "r7" })
        }
    }

    @Test func appendsAfterShutdownAreRefused() async throws {
        try await TestBackend.sqlite.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            let committer = try await Self.withCommitter(storage.ledger) { committer in
                _ = try await committer.append([Self.entry(tenantID, "before")])
                return committer
            }
            await #expect(throws: TallyError.self) { try await committer.append([Self.entry(tenantID, "after")]) }
        }
    }

    /// A group commit whose answer is lost after it committed (a dropped connection) is answered
    /// from the ledger: every request gets the outcomes it would have had (not `duplicate` from a
    /// retry), and nothing is booked twice. One that failed before committing is retried.
    @Test(arguments: TestBackend.available, [true, false])
    func aLostCommitIsAnsweredAsBookedAndAFailedOneRetried(backend: TestBackend, lostAfterCommit: Bool) async throws {
        try await backend.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            let ledger = LosingLedger(storage.ledger, lostAfterCommit: lostAfterCommit, failures: 1)
            let accepted = try await Self.withCommitter(ledger) { committer in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for request in 0..<40 {
                        group.addTask {
                            // Overlapping ids: request r sends events r...r+4, so 44 distinct events; each
                            // request is received at its own time, as requests are.
                            let received = 1_795_860_000_000_000 + Int64(request)
                            let outcomes = try await committer.append((request..<(request + 5)).map { Self.entry(tenantID, "e\($0)", receivedAt: received) })
                            return outcomes.filter { $0 == .accepted }.count
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            #expect(accepted == 44, "every distinct event is answered accepted exactly once")
            let events = try await storage.ledger.events(in: TenantScope(credentialTenant: tenantID), type: "e", from: 0, to: .max)
            #expect(events.count == 44)
            #expect(try await storage.ledger.meterTotals(in: TenantScope(credentialTenant: tenantID), meter: "n", fromWindow: 0, toWindow: .max).count == 44)
            let appends = ledger.appends
            if lostAfterCommit {
                #expect(appends.count < 40, "what the lost commit booked is not sent again: \(appends)")
            }
        }
    }

    /// A single request whose commit's answer is lost gets its outcomes rather than the error.
    @Test(arguments: TestBackend.available)
    func aLoneRequestWhoseAnswerIsLostGetsItsOutcomes(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            _ = try await storage.ledger.append([Self.entry(tenantID, "old")])
            let ledger = LosingLedger(storage.ledger, lostAfterCommit: true, failures: 1)
            let outcomes = try await Self.withCommitter(ledger) { committer in
                let later: Int64 = 1_795_860_000_000_001
                return try await committer.append([
                    Self.entry(tenantID, "new", receivedAt: later), Self.entry(tenantID, "old", receivedAt: later), Self.entry(tenantID, "new", receivedAt: later),
                ])
            }
            #expect(outcomes == [.accepted, .duplicate, .duplicate])
        }
    }

    /// The real ledger, watched: how many appends run at once and how large each group is; while
    /// `held`, an append waits (its transaction "in flight") until released.
    final class WatchedLedger: LedgerAppender, Sendable {
        struct Watch {
            var inFlight = 0
            var mostInFlight = 0
            var groups: [Int] = []
            var held = true
            var holding: [CheckedContinuation<Void, Never>] = []
        }

        let ledger: any LedgerStore
        let watch = Mutex(Watch())

        init(_ ledger: any LedgerStore) { self.ledger = ledger }

        func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
            await withCheckedContinuation { continuation in
                let wait = watch.withLock { watch -> Bool in
                    watch.inFlight += 1
                    watch.mostInFlight = max(watch.mostInFlight, watch.inFlight)
                    watch.groups.append(entries.count)
                    if watch.held { watch.holding.append(continuation) }
                    return watch.held
                }
                if !wait { continuation.resume() }
            }
            defer { watch.withLock { $0.inFlight -= 1 } }
            return try await ledger.append(entries)
        }

        func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]? {
            try await ledger.outcomesOfFailedAppend(entries)
        }

        func release() {
            let holding = watch.withLock { watch in
                watch.held = false
                defer { watch.holding.removeAll() }
                return watch.holding
            }
            for waiter in holding { waiter.resume() }
        }

        /// Waits (up to 10 s) until `condition` holds of the watch.
        func until(_ condition: (Watch) -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while !watch.withLock({ condition($0) }) {
                guard ContinuousClock.now < deadline else { Issue.record("timed out; watch: \(watch.withLock { $0.groups })"); return }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// On SQLite, a committer that overlaps at 64 queued events, whose first (one-event) commit
    /// is held in flight while `submissions` are made; `beforeRelease` runs before it is let go.
    /// Returns how many events were accepted in all and what the ledger saw.
    func withFirstCommitHeld(
        metrics: TestMetrics = TestMetrics(),
        then submissions: @escaping @Sendable (TenantID) -> [[LedgerEntry]],
        beforeRelease: @escaping @Sendable (WatchedLedger) async throws -> Void
    ) async throws -> (accepted: Int, watch: WatchedLedger.Watch) {
        try await TestBackend.sqlite.withBackend { storage, _ in
            let tenantID = try await tenant(storage)
            let ledger = WatchedLedger(storage.ledger)
            let accepted = try await Self.withCommitter(ledger, overlap: CommitOverlap(limit: 2, minimumEvents: 64), metrics: metrics) { committer in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (position, entries) in ([[Self.entry(tenantID, "first")]] + submissions(tenantID)).enumerated() {
                        group.addTask { try await committer.append(entries).filter { $0 == .accepted }.count }
                        if position == 0 { try await ledger.until { $0.inFlight == 1 } }
                    }
                    try await beforeRelease(ledger)
                    ledger.release()
                    return try await group.reduce(0, +)
                }
            }
            return (accepted, ledger.watch.withLock { $0 })
        }
    }

    @Test func smallWorkWaitsForTheCommitInFlightAndJoinsOneGroup() async throws {
        let metrics = TestMetrics()
        let (accepted, watch) = try await withFirstCommitHeld(metrics: metrics, then: { tenantID in (0..<20).map { [Self.entry(tenantID, "r\($0)")] } }) { ledger in
            // Twenty single events queue behind the held commit; none starts a second one.
            try await Task.sleep(for: .milliseconds(300))
            #expect(ledger.watch.withLock { $0.inFlight } == 1)
        }
        #expect(accepted == 21)
        #expect(watch.mostInFlight == 1)
        #expect(watch.groups == [1, 20], "the twenty queued requests share the next group")

        // Each group is measured: its events, its oldest request's wait, its transaction.
        #expect(try metrics.expectRecorder("tally_ledger_group_commit_events").values == [1, 20])
        let waits = try metrics.expectTimer("tally_ledger_group_commit_wait_seconds").values
        let durations = try metrics.expectTimer("tally_ledger_group_commit_duration_seconds").values
        #expect(waits.count == 2 && durations.count == 2)
        let held: Int64 = 300_000_000  // the first commit was held at least the 300 ms slept above
        #expect(durations[0] >= held, "the held transaction took as long as it was held")
        #expect(waits[1] >= held, "the twenty waited behind it")
    }

    @Test func aBacklogStartsASecondCommitBesideTheOneInFlight() async throws {
        let (accepted, watch) = try await withFirstCommitHeld(then: { tenantID in [(0..<100).map { Self.entry(tenantID, "b\($0)") }] }) { ledger in
            // A 100-event batch is a backlog past 64: it starts while the first is held.
            try await ledger.until { $0.inFlight == 2 }
        }
        #expect(accepted == 101)
        #expect(watch.mostInFlight == 2)
        #expect(watch.groups == [1, 100])
    }
}
