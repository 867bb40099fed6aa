import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// Two real `tally serve` processes share one tenant's hard limit through Redis leases: driven
/// through both at once they book no more than the limit; a node killed holding a lease costs at
/// most its block (what it booked without reporting), and its lease lapses so the other node can
/// use the rest; a node that stops gives its lease back.
@Suite(.enabled(if: TestBackend.available.contains(.postgres), "needs PostgreSQL and Redis"))
struct QuotaLeaseProcessTests {
    static let blockPercent = 5

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var accepted = 0, refused = 0
        private var reason = ""
        func add(accepted a: Int, refused r: Int) { lock.withLock { accepted += a; refused += r } }
        func refusal(_ text: String) { lock.withLock { reason = text } }
        var lastRefusal: String { lock.withLock { reason } }
        var totals: (accepted: Int, refused: Int) { lock.withLock { (accepted, refused) } }
    }

    /// Posts batches of new events through `server` until `patience` batches in a row book
    /// nothing (the limit is reached) or `maxBatches` were sent.
    static func drive(_ server: TallyProcess.Server, token: String, prefix: String, batch: Int, maxBatches: Int, patience: Int = 3, counter: Counter) async throws {
        var idle = 0
        for round in 0..<maxBatches where idle < patience {
            let events: [[String: Any]] = (0..<batch).map { ["specversion": "1.0", "id": "\(prefix)-\(round)-\($0)", "source": "//lease", "type": "api.call"] }
            let reply = try await server.request("POST", "/v1/events", token: token, json: events)
            guard reply.status == 200, let results = reply.body["results"] as? [[String: Any]] else {
                throw TestSetupError("ingest answered \(reply.status): \(reply.body)")
            }
            let accepted = results.filter { $0["status"] as? String == "accepted" }.count
            let refused = results.filter { $0["code"] as? String == "quota_exceeded" }.count
            #expect(accepted + refused == batch)
            counter.add(accepted: accepted, refused: refused)
            if let reason = results.first(where: { $0["code"] as? String == "quota_exceeded" })?["reason"] as? String { counter.refusal(reason) }
            idle = accepted == 0 ? idle + 1 : 0
        }
    }

    /// Booked events of the tenant, from the meter.
    static func booked(_ server: TallyProcess.Server, token: String) async throws -> Int {
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        let range = "from=\(RFC3339.format(microseconds: now - 86_400_000_000))&to=\(RFC3339.format(microseconds: now + 86_400_000_000))&window=day&group_by="
        let reply = try await server.request("GET", "/v1/meters/calls/query?\(range.replacingOccurrences(of: "+", with: "%2B"))", token: token)
        let points = try #require(reply.body["data"] as? [[String: Any]], "\(reply)")
        return points.compactMap { ($0["value"] as? String).flatMap { Int($0) } }.reduce(0, +)
    }

    @Test func twoNodesNeverTogetherPassAHardLimit() async throws {
        try await TestBackend.postgres.withFreshSettings { settings in
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: settings.dataDir) }
            var env = ProcessTests.envFor(settings)
            env["TALLY_QUOTA_LEASE_BLOCK_PERCENT"] = "\(Self.blockPercent)"
            env["TALLY_QUOTA_LEASE_TTL_SECONDS"] = "12"
            env["TALLY_QUOTA_REFRESH_SECONDS"] = "1"

            let a = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await a.waitUntilListening()
            let op = try String(contentsOfFile: settings.dataDir + "/operator-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let tenant = try #require(try await a.request("POST", "/v1/tenants", token: op, json: ["slug": "leased", "name": "Leased"]).body["id"] as? String)
            let token = try #require(try await a.request("POST", "/v1/tenants/\(tenant)/api-keys", token: op, json: ["name": "k"]).body["secret"] as? String)
            #expect(try await a.request("POST", "/v1/meters", token: token, json: ["slug": "calls", "event_type": "api.call", "aggregation": "COUNT"]).status == 201)
            #expect(try await a.request("POST", "/v1/features", token: op, json: ["key": "api-calls", "name": "API calls", "kind": "metered", "meter": "calls"]).status == 201)
            let plan: [String: Any] = ["key": "capped", "name": "Capped", "entitlements": ["api-calls": ["limit": 1000]]]
            #expect(try await a.request("POST", "/v1/plans", token: op, json: plan).status == 201)
            #expect(try await a.request("PUT", "/v1/tenants/\(tenant)/entitlements", token: op, json: ["plan": "capped"]).status == 200)
            let b = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await b.waitUntilListening()

            // 1. Both nodes at once, 3 clients each: together they book exactly what the limit allows.
            let first = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, server) in [a, b, a, b, a, b].enumerated() {
                    group.addTask { try await Self.drive(server, token: token, prefix: "p1-\(index)", batch: 10, maxBatches: 200, counter: first) }
                }
                try await group.waitForAll()
            }
            let block = 1000 * Self.blockPercent / 100
            let bookedFirst = try await Self.booked(a, token: token)
            #expect(bookedFirst == first.totals.accepted)
            #expect(bookedFirst <= 1000)
            #expect(bookedFirst >= 1000 - 2 * block)  // at most a block left unspent on each node
            #expect(first.totals.refused > 0)

            // 2. Raise the limit to 2000; B takes a lease and is killed holding it.
            #expect(try await a.request("PATCH", "/v1/plans/capped", token: op, json: ["entitlements": ["api-calls": ["limit": 2000]]]).status == 200)
            try await Task.sleep(for: .milliseconds(1_500))  // B sees the plan change at its next refresh
            let second = Counter()
            // (The first batch may still meet the old limit: a node refreshes without making answers wait.)
            try await Self.drive(b, token: token, prefix: "p2-b", batch: 10, maxBatches: 4, patience: 4, counter: second)
            #expect(second.totals.accepted >= 20)
            await b.crash()
            let crashed = ContinuousClock.now
            // A books what the pool has while B's lease still holds its block...
            try await Self.drive(a, token: token, prefix: "p2-a", batch: 10, maxBatches: 400, counter: second)
            let bookedWhileHeld = try await Self.booked(a, token: token)
            #expect(bookedWhileHeld == bookedFirst + second.totals.accepted)
            // (B's lease lapses 9 to 12 s after the crash; a starved machine may take that long to
            // drive A, and then A may also spend what B booked without reporting: the bound below.)
            if ContinuousClock.now - crashed < .seconds(9) { #expect(bookedWhileHeld <= 2000) }
            #expect(bookedWhileHeld <= 2000 + block)
            // ...and the rest once that lease lapses (TTL 12 s, renewed every 3 s: it lapses 9 to 12 s
            // after the crash): the dead node costs at most what it had booked without reporting,
            // less than one block.
            try await Task.sleep(for: .seconds(12))
            try await Self.drive(a, token: token, prefix: "p2-a-late", batch: 10, maxBatches: 400, counter: second)
            let bookedSecond = try await Self.booked(a, token: token)
            #expect(bookedSecond == bookedFirst + second.totals.accepted)
            if bookedWhileHeld < 2000 { #expect(bookedSecond > bookedWhileHeld) }
            if bookedSecond < 2000 {
                try await TestRedis.withClient { redis in
                    for key in try await redis.send("KEYS", "\(settings.redisKeyPrefix)quota:{\(tenant)}:*").array?.compactMap(\.string) ?? [] {
                        let values = try await redis.send("HGETALL", key).array?.compactMap(\.string) ?? []
                        Issue.record("\(key): \(values); a \(a.process.processIdentifier) b \(b.process.processIdentifier); accepted \(second.totals), last refusal: \(second.lastRefusal)")
                    }
                }
            }
            #expect(bookedSecond >= 2000)
            #expect(bookedSecond <= 2000 + block)

            // 3. A stops gracefully and gives its lease back: the pool holds no node's lease.
            #expect(try await a.terminate() == 0)
            try await TestRedis.withClient { redis in
                let keys = try await redis.send("KEYS", "\(settings.redisKeyPrefix)quota:{\(tenant)}:*").array ?? []
                #expect(!keys.isEmpty)
                for key in keys.compactMap(\.string) {
                    let fields = try await redis.send("HKEYS", key).array?.compactMap(\.string) ?? []
                    #expect(fields.filter { $0.hasPrefix("out:") }.isEmpty, "\(key): \(fields); a: \(a.process.processIdentifier), b: \(b.process.processIdentifier)\n\(a.stderr)")
                    _ = try await redis.send("DEL", key)
                }
            }
        }
    }
}
