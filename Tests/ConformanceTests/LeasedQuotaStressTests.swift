import Actors
import Core
import Entitlements
import Foundation
import Logging
import Metering
import Storage
import Synchronization
import TallyTestSupport
import Testing

/// Three nodes share one hard limit through a real Redis pool while workers on each node charge
/// batches (some of whose commits fail), reserve quota and spend or abandon it, void and amend
/// booked events and check; meanwhile the nodes renew their leases, reload their books from the
/// ledger, and restart between phases. Whatever the interleaving: the ledger never holds more
/// than the limit, the pool ends holding exactly what the ledger booked, and a fresh node can
/// then book exactly what is left.
@Suite(.enabled(if: TestRedis.enabled, "needs TALLY_TEST_REDIS_URL"))
struct LeasedQuotaStressTests {
    static let limit = 3_000

    /// The ledger the nodes book into and load from: its net usage, the highest it reached, the
    /// booked events a correction can pick, and what the workers did.
    final class Ledger: Sendable {
        struct State {
            var net = 0
            var peak = 0
            var events: [Int] = []
            var booked = 0, failed = 0, refused = 0, reservations = 0, voids = 0, amendments = 0, unavailable = 0
        }

        let state = Mutex(State())

        func commit(_ amount: Int) {
            state.withLock {
                $0.net += amount
                $0.peak = max($0.peak, $0.net)
                $0.events.append(amount)
                $0.booked += 1
            }
        }

        /// Takes a booked event out of the pool of events corrections pick from.
        func takeEvent(at random: Int) -> Int? {
            state.withLock { $0.events.isEmpty ? nil : $0.events.remove(at: random % $0.events.count) }
        }

        func count(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

        var net: Int { state.withLock { $0.net } }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func threeNodesUnderRandomLoadKeepThePoolExact(seed: UInt64) async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: "tally-test:\(UUID().uuidString):quota:")
            let tenant = TenantID.generate()
            let start = Int64(Date().timeIntervalSince1970)
            let window = PeriodWindow(start: start - 100, end: start + 3_600, resetsAt: start + 3_600)
            let ledger = Ledger()
            let loader: TenantQuota.Loader = { _, _ in
                try await Task.sleep(for: .milliseconds(1))  // a read that takes a while, as a database's does
                return QuotaBook(lines: ["calls": QuotaBook.Line(
                    feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(Self.limit)), window: window, grants: [], used: Quantity(ledger.net)
                )])
            }
            func node(_ name: String) -> TenantQuota {
                TenantQuota(
                    tenantID: tenant, loader: loader, refresh: .milliseconds(15),
                    leasing: TenantQuota.Leasing(store: store, node: name, blockPercent: 1, ttl: .seconds(4)), logger: Logger(label: "test")
                )
            }
            var nodes = ["n1", "n2", "n3"].map(node)
            var generator = SplitMix64(state: seed)
            for phase in 0..<3 {
                let running = nodes
                let seeds = (0..<running.count * 2).map { _ in generator.next() }
                // Each node renews its leases every few milliseconds while its workers run.
                let renewals = running.map { quota in
                    Task {
                        while !Task.isCancelled {
                            await quota.renewLeases(now: Int64(Date().timeIntervalSince1970))
                            try? await Task.sleep(for: .milliseconds(3))
                        }
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    for (index, seed) in seeds.enumerated() {
                        let quota = running[index % running.count]
                        workers.addTask { try await Self.work(on: quota, ledger: ledger, operations: 300, seed: seed) }
                    }
                    try await workers.waitForAll()
                }
                for renewal in renewals {
                    renewal.cancel()
                    await renewal.value
                }
                // Between phases one node restarts: it reports, gives its lease back, and starts empty.
                let restarting = Int(generator.next() % UInt64(nodes.count))
                await nodes[restarting].renewLeases(now: Int64(Date().timeIntervalSince1970))
                await nodes[restarting].releaseLeases()
                nodes[restarting] = node("n\(restarting + 1)")
                #expect(ledger.state.withLock { $0.peak } <= Self.limit, "phase \(phase)")
            }

            let counts = ledger.state.withLock { $0 }
            #expect(counts.peak <= Self.limit)
            // The run did what it says: the limit was reached, and every kind of operation happened.
            #expect(counts.refused > 0 && counts.booked > 500 && counts.failed > 0 && counts.reservations > 0 && counts.voids > 0 && counts.amendments > 0, "\(counts)")

            // Every node reports and gives back: the pool holds exactly what the ledger booked.
            let now = Int64(Date().timeIntervalSince1970)
            for quota in nodes { await quota.renewLeases(now: now) }
            for quota in nodes { await quota.releaseLeases() }
            let poolKey = store.redisKeyForTests(QuotaLeaseKey(tenantID: tenant, feature: "calls", periodStart: window.start, periodEnd: window.end))
            let spent = try await redis.send("HGET", poolKey, "spent").string
            #expect(spent == String(counts.net * 1_000_000))

            // No quota was lost: a fresh node books exactly what is left, one unit at a time.
            let fresh = node("n-fresh")
            var more = 0
            while more <= Self.limit {
                guard case .charged(let charges)? = try await fresh.charge([[("calls", Quantity.one)]], now: now).first else { break }
                ledger.commit(1)
                _ = fresh.settle(charges, booked: true)
                more += 1
            }
            #expect(more == Self.limit - counts.net)
            await fresh.releaseLeases()
            #expect(try await redis.send("HGET", poolKey, "spent").string == String(Self.limit * 1_000_000))
            _ = try await redis.send("DEL", poolKey)
        }
    }

    /// One worker's random operations on one node, as ingest, checks and corrections make them.
    static func work(on quota: TenantQuota, ledger: Ledger, operations: Int, seed: UInt64) async throws {
        var random = SplitMix64(state: seed)
        func roll(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        func reading(_ amount: Int) -> MeterReading {
            MeterReading(meter: "calls", time: 0, eventID: "e", value: .number(Quantity(amount)), dimensions: [:])
        }
        /// Charges events of these amounts and commits each charged one, a tenth of the commits failing.
        func ingest(_ amounts: [Int], now: Int64) async throws {
            let outcomes = try await quota.charge(amounts.map { [("calls", Quantity($0))] }, now: now)
            for (amount, outcome) in zip(amounts, outcomes) {
                switch outcome {
                case .charged(let charges):
                    if roll(1...10) == 1 {
                        ledger.count { $0.failed += 1 }
                        _ = quota.settle(charges, booked: false)
                    } else {
                        ledger.commit(amount)
                        await Task.yield()
                        _ = quota.settle(charges, booked: true)
                    }
                case .refused: ledger.count { $0.refused += 1 }
                case .needsLease: Issue.record("charge answered needsLease")
                }
            }
        }
        /// One random operation at `now`.
        func operate(now: Int64) async throws {
            switch roll(1...20) {
            case 1...11:
                try await ingest((0..<roll(1...3)).map { _ in roll(1...4) }, now: now)
            case 12...13:
                // Reserve, then (mostly) ingest what was reserved; a short reservation may lapse.
                let amount = roll(1...5)
                let until = roll(1...2) == 1 ? now + 1 : now + 60
                if case .charged? = try await quota.reserve("calls", amount: Quantity(amount), until: until, now: now) {
                    ledger.count { $0.reservations += 1 }
                    if roll(1...10) <= 7 { try await ingest([amount], now: now) }
                }
            case 14...16:
                // Void a booked event: the correction begins before it commits, as the service does.
                let correction = try await quota.beginCorrection(now: now)
                guard let amount = ledger.takeEvent(at: roll(0...1_000_000)) else { return quota.endCorrection(correction) }
                ledger.count { $0.net -= amount; $0.voids += 1 }
                _ = quota.correct(correction, before: [reading(amount)], after: [], eventTime: now)
            case 17:
                // Amend a booked event down.
                let correction = try await quota.beginCorrection(now: now)
                guard let amount = ledger.takeEvent(at: roll(0...1_000_000)) else { return quota.endCorrection(correction) }
                guard amount > 1 else {
                    ledger.count { $0.events.append(amount) }
                    return quota.endCorrection(correction)
                }
                let amended = roll(1...(amount - 1))
                ledger.count { $0.net += amended - amount; $0.events.append(amended); $0.amendments += 1 }
                _ = quota.correct(correction, before: [reading(amount)], after: [reading(amended)], eventTime: now)
            default:
                _ = try await quota.check("calls", amount: .one, now: now)
            }
        }
        for _ in 0..<operations {
            do {
                try await operate(now: Int64(Date().timeIntervalSince1970))
            } catch let error as TallyError where error.code == .unavailable {
                // A reload outlasted the wait (on a loaded machine): the client would be answered
                // 503 and retry; nothing was booked.
                ledger.count { $0.unavailable += 1 }
            }
        }
    }
}
