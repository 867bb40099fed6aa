import Actors
import Core
import Entitlements
import Foundation
import Logging
import Metering
import Storage
import TallyTestSupport
import Synchronization
import Testing

/// Quota leases against a real Redis: the pool never hands out more than the limit, spend is
/// reported, lapsed holdings return, and nodes sharing a pool together never book past it.
@Suite(.enabled(if: TestRedis.enabled, "needs TALLY_TEST_REDIS_URL"))
struct RedisQuotaLeaseStoreTests {
    let prefix = "tally-test:\(UUID().uuidString):quota:"
    let key = QuotaLeaseKey(tenantID: .generate(), feature: "calls", periodStart: 1_000, periodEnd: 2_000)

    @Test func aPoolNeverGrantsPastItsLimit() async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: prefix)
            let limit = Quantity(100)
            // Seeded with 30 booked: 70 to share.
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "a", keep: .zero, want: Quantity(50), report: .zero, limit: limit, seed: Quantity(30), ttl: .seconds(30))) == Quantity(50))
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "b", keep: .zero, want: Quantity(50), report: .zero, limit: limit, seed: .zero, ttl: .seconds(30))) == Quantity(20))
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "b", keep: Quantity(20), want: Quantity(1), report: .zero, limit: limit, seed: .zero, ttl: .seconds(30))) == .zero)
            // A reports 45 booked and keeps 5; B may now grow by nothing (30 + 45 spent, 5 + 20 held).
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "a", keep: Quantity(5), want: .zero, report: Quantity(45), limit: limit, seed: .zero, ttl: .seconds(30))) == .zero)
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "b", keep: Quantity(20), want: Quantity(5), report: .zero, limit: limit, seed: .zero, ttl: .seconds(30))) == .zero)
            // A gives back its 5 (having booked 1 of them): B can take 4.
            try await store.release(QuotaLeaseRequest(key: key, node: "a", report: Quantity(1)))
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "b", keep: Quantity(20), want: Quantity(10), report: .zero, limit: limit, seed: .zero, ttl: .seconds(30))) == Quantity(4))
            // A lowered limit takes back what is held beyond it.
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "b", keep: Quantity(24), want: .zero, report: .zero, limit: Quantity(80), seed: .zero, ttl: .seconds(30))) == Quantity(-20))
            // Fractions round safely: spend up, grants down, in millionths.
            let fine = QuotaLeaseKey(tenantID: .generate(), feature: "calls", periodStart: 1_000, periodEnd: 2_000)
            #expect(try await store.adjust(QuotaLeaseRequest(key: fine, node: "a", keep: .zero, want: Quantity("0.0000015")!, report: .zero, limit: Quantity(1), seed: .zero, ttl: .seconds(30))) == Quantity("0.000001")!)
            _ = try await redis.send("DEL", store.redisKeyForTests(key), store.redisKeyForTests(fine))
        }
    }

    /// Pools past what a double holds exactly (2^53 millionths) or Lua prints plainly (10^14):
    /// a byte-metered limit of 10^12, and one near `Quantity`'s bound. Every grant, report and
    /// release is exact to the millionth, and the pool keeps plain digits.
    @Test func largePoolsStayExact() async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: prefix)
            let bytes = QuotaLeaseKey(tenantID: .generate(), feature: "bytes", periodStart: 1_000, periodEnd: 2_000)
            func adjust(_ key: QuotaLeaseKey, _ node: String, keep: String = "0", want: String, report: String = "0", limit: String, seed: String = "0") async throws -> Quantity {
                try await store.adjust(QuotaLeaseRequest(
                    key: key, node: node, keep: Quantity(keep)!, want: Quantity(want)!, report: Quantity(report)!, limit: Quantity(limit)!,
                    seed: Quantity(seed)!, ttl: .seconds(30)
                ))
            }
            // 10^12 bytes, 1 % blocks of 10^10: the grant is 10^16 millionths.
            #expect(try await adjust(bytes, "a", want: "10000000000", limit: "1000000000000", seed: "123456789012.345678") == Quantity("10000000000")!)
            #expect(try await adjust(bytes, "b", want: "999999999999", limit: "1000000000000") == Quantity("866543210987.654322")!)
            // A reports 9,999,999,999.999999 booked and asks for one more millionth than is left.
            #expect(try await adjust(bytes, "a", keep: "0.000001", want: "1", report: "9999999999.999999", limit: "1000000000000") == .zero)
            #expect(try await redis.send("HGET", store.redisKeyForTests(bytes), "spent").string == "133456789012345677")
            // B gives back its holding having booked 866,543,210,987.654321 of it: spent reaches the limit but a millionth.
            try await store.release(QuotaLeaseRequest(key: bytes, node: "b", report: Quantity("866543210987.654321")!))
            #expect(try await redis.send("HGET", store.redisKeyForTests(bytes), "spent").string == "999999999999999998")
            #expect(try await adjust(bytes, "a", keep: "0.000001", want: "5", limit: "1000000000000") == Quantity("0.000001")!)
            // Shrinking past a double's precision: a lowered limit takes back exactly what is held beyond it.
            #expect(try await adjust(bytes, "a", keep: "0.000002", want: "0", limit: "999999999999.999999") == Quantity("-0.000001")!)

            // Near the bound of an input quantity (10^18): 24 digits of millionths.
            let huge = QuotaLeaseKey(tenantID: .generate(), feature: "huge", periodStart: 1_000, periodEnd: 2_000)
            #expect(try await adjust(huge, "a", want: "999999999999999999.999999", limit: "987654321987654321.123456", seed: "0.000001") == Quantity("987654321987654321.123455")!)
            #expect(try await adjust(huge, "b", want: "1", limit: "987654321987654321.123456") == .zero)
            try await store.release(QuotaLeaseRequest(key: huge, node: "a", report: Quantity("987654321987654321.123455")!))
            #expect(try await redis.send("HGET", store.redisKeyForTests(huge), "spent").string == "987654321987654321123456")

            // A pool written in exponent form (by the scripts before they kept digits) reads as the number it names.
            let legacy = QuotaLeaseKey(tenantID: .generate(), feature: "legacy", periodStart: 1_000, periodEnd: 2_000)
            _ = try await redis.send("HSET", store.redisKeyForTests(legacy), "spent", "1e+17")
            #expect(try await adjust(legacy, "a", want: "1000000000000", limit: "100000000100") == Quantity("100")!)
            _ = try await redis.send("DEL", store.redisKeyForTests(bytes), store.redisKeyForTests(huge), store.redisKeyForTests(legacy))
        }
    }

    /// Usage that corrections took back is reported as a negative spend: the pool can lease it
    /// again, never counts below zero, and rounds a refund toward zero (never over-refunds).
    @Test func negativeReportsGiveUsageBack() async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: prefix)
            let pool = QuotaLeaseKey(tenantID: .generate(), feature: "bytes", periodStart: 1_000, periodEnd: 2_000)
            func spent() async throws -> String? { try await redis.send("HGET", store.redisKeyForTests(pool), "spent").string }
            // 100 booked (the seed): nothing left to lease.
            #expect(try await store.adjust(QuotaLeaseRequest(key: pool, node: "a", want: Quantity(10), limit: Quantity(100), seed: Quantity(100))) == .zero)
            // A void of 20: the same call that reports it can lease it again.
            #expect(try await store.adjust(QuotaLeaseRequest(key: pool, node: "a", want: Quantity(50), report: Quantity(-20), limit: Quantity(100))) == Quantity(20))
            #expect(try await spent() == "80000000")
            // A refund of 0.0000015 gives back 0.000001 (toward zero); a release reports signed too.
            try await store.release(QuotaLeaseRequest(key: pool, node: "a", report: Quantity("-0.0000015")!))
            #expect(try await spent() == "79999999")
            // Never below zero.
            try await store.release(QuotaLeaseRequest(key: pool, node: "a", report: Quantity(-500)))
            #expect(try await spent() == "0")
            _ = try await redis.send("DEL", store.redisKeyForTests(pool))
        }
    }

    @Test func aDeadNodesHoldingLapses() async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: prefix)
            // The lease's 3 s run from a moment between `asked` and `leased`.
            let asked = ContinuousClock.now
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "dead", keep: .zero, want: Quantity(60), report: .zero, limit: Quantity(100), seed: .zero, ttl: .seconds(3))) == Quantity(60))
            let leased = ContinuousClock.now
            let second = try await store.adjust(QuotaLeaseRequest(key: key, node: "live", keep: .zero, want: Quantity(60), report: .zero, limit: Quantity(100), seed: .zero, ttl: .seconds(30)))
            // While the dead node's lease lives, the live one gets only the rest. (A test machine
            // stalled near the lease's 3 s may see it lapse already: then all 60.)
            if ContinuousClock.now - asked < .milliseconds(2_500) {
                #expect(second == Quantity(40))
            } else {
                #expect(second == Quantity(40) || second == Quantity(60))
            }
            try await Task.sleep(until: leased + .milliseconds(3_200))
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "live", keep: Quantity(40), want: Quantity(60), report: .zero, limit: Quantity(100), seed: .zero, ttl: .seconds(30))) == Quantity(60))
            // After SCRIPT FLUSH (a restarted Redis) the scripts are loaded again.
            _ = try await redis.send("SCRIPT", "FLUSH")
            #expect(try await store.adjust(QuotaLeaseRequest(key: key, node: "live", keep: Quantity(100), want: Quantity(1), report: .zero, limit: Quantity(100), seed: .zero, ttl: .seconds(30))) == .zero)
            _ = try await redis.send("DEL", store.redisKeyForTests(key))
        }
    }

    /// A charge that needs a lease while a renewal of the same feature is in flight waits for
    /// the renewal and then asks for itself: the renewal asked for nothing, so its result says
    /// nothing about what the pool has left (sharing it refused the charge as if it were spent).
    @Test func aChargeDuringARenewalIsNotRefused() async throws {
        try await TestRedis.withClient { redis in
            let store = RenewalGate(RedisQuotaLeaseStore(redis: redis, prefix: prefix))
            let tenant = TenantID.generate()
            let now = Int64(Date().timeIntervalSince1970)
            let window = PeriodWindow(start: now - 100, end: now + 3_600, resetsAt: now + 3_600)
            let quota = TenantQuota(
                tenantID: tenant,
                loader: { _, _ in
                    QuotaBook(lines: ["calls": QuotaBook.Line(
                        feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(100)), window: window, grants: [], used: .zero
                    )])
                },
                refresh: .seconds(60), leasing: TenantQuota.Leasing(store: store, node: "n1", blockPercent: 1, ttl: .seconds(30)), logger: Logger(label: "test")
            )
            guard case .charged(let first)? = try await quota.charge([[("calls", Quantity(5))]], now: now).first else {
                Issue.record("the first charge was refused")
                return
            }
            _ = quota.settle(first, booked: true)
            // A renewal (5 to report) is held at the store; a charge of 50 arrives meanwhile.
            let renewal = Task { await quota.renewLeases(now: now) }
            await store.waitForHeldRenewal()
            let charge = Task { try await quota.charge([[("calls", Quantity(50))]], now: now) }
            try await Task.sleep(for: .milliseconds(100))  // lets the charge reach the renewal in flight
            store.open()
            await renewal.value
            let outcome = try await charge.value.first
            guard case .charged? = outcome else {
                Issue.record("the charge was refused: \(String(describing: outcome))")
                return
            }
            _ = try await redis.send("DEL", store.inner.redisKeyForTests(QuotaLeaseKey(tenantID: tenant, feature: "calls", periodStart: window.start, periodEnd: window.end)))
        }
    }

    /// The Redis store, with renewals (adjustments that ask for nothing) held until released.
    final class RenewalGate: QuotaLeaseStore {
        let inner: RedisQuotaLeaseStore
        private let state = Mutex<(held: [CheckedContinuation<Void, Never>], open: Bool, waiter: CheckedContinuation<Void, Never>?)>(([], false, nil))

        init(_ inner: RedisQuotaLeaseStore) { self.inner = inner }

        func adjust(_ request: QuotaLeaseRequest) async throws -> Quantity {
            if request.want == .zero {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let (resume, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                        if state.open { return (true, nil) }
                        state.held.append(continuation)
                        defer { state.waiter = nil }
                        return (false, state.waiter)
                    }
                    if resume { continuation.resume() }
                    waiter?.resume()
                }
            }
            return try await inner.adjust(request)
        }

        func release(_ request: QuotaLeaseRequest) async throws { try await inner.release(request) }

        func waitForHeldRenewal() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.held.isEmpty { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }

        func open() {
            let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.held = [] }
                return state.held
            }
            for continuation in held { continuation.resume() }
        }
    }

    /// Two nodes' `TenantQuota`s share one pool; concurrent charges on both never book more than
    /// the limit, and together they use all of it.
    @Test func nodesSharingAPoolStayWithinTheLimit() async throws {
        try await TestRedis.withClient { redis in
            let store = RedisQuotaLeaseStore(redis: redis, prefix: prefix)
            let tenant = TenantID.generate()
            let now = Int64(Date().timeIntervalSince1970)
            let window = PeriodWindow(start: now - 100, end: now + 3_600, resetsAt: now + 3_600)
            let loader: TenantQuota.Loader = { _, _ in
                QuotaBook(lines: ["calls": QuotaBook.Line(
                    feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(500)), window: window, grants: [], used: .zero
                )])
            }
            let nodes = ["n1", "n2"].map { node in
                TenantQuota(
                    tenantID: tenant, loader: loader, refresh: .seconds(60),
                    leasing: TenantQuota.Leasing(store: store, node: node, blockPercent: 2, ttl: .seconds(30)), logger: Logger(label: "test")
                )
            }
            let booked = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    let quota = nodes[worker % 2]
                    group.addTask {
                        var booked = 0
                        for _ in 0..<100 {
                            for outcome in try await quota.charge([[("calls", Quantity.one)], [("calls", Quantity.one)]], now: now) {
                                if case .charged(let charges) = outcome {
                                    _ = quota.settle(charges, booked: true)
                                    booked += 1
                                }
                            }
                        }
                        return booked
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(booked <= 500)
            // Both nodes renew (reporting spend) and give back; the pool then holds exactly what was booked.
            for node in nodes { await node.renewLeases(now: now) }
            for node in nodes { await node.releaseLeases() }
            let spent = try await redis.send("HGET", store.redisKeyForTests(QuotaLeaseKey(tenantID: tenant, feature: "calls", periodStart: window.start, periodEnd: window.end)), "spent")
            #expect(spent.string.flatMap { Int($0) } == booked * 1_000_000)
            #expect(booked >= 500 - 2 * 10)  // at most one unspent block per node is left unused
        }
    }
}
