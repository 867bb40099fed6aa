import Core
import Foundation
import Metering
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TallyTestSupport
import Testing

/// Under load, Redis and then PostgreSQL stop (SIGSTOP) for 5 s each: the API sheds load with
/// 429/503 and Retry-After instead of queueing without bound, its memory stays bounded, and
/// everything recovers after SIGCONT, with every acknowledged event booked exactly once.
@Suite(.enabled(if: DedicatedServers.available, "needs root, PostgreSQL and redis-server"))
struct BackpressureProcessTests {
    enum Phase: String, CaseIterable, Sendable { case warm, redisStopped, redisResumed, postgresStopped, postgresResumed, recovered }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var statuses: [Phase: [String: [Int: Int]]] = [:]  // phase → tenant → status → count
        private var missingRetryAfter = 0
        private var acked: [String: Set<String>] = [:]
        private var failures: [String] = []
        var phase = Phase.warm
        var maxRSS: [Phase: Int] = [:]

        /// Counts an answer under the phase its request was sent in (a starved machine may answer
        /// a request sent while PostgreSQL was stopped only after it resumed).
        func record(_ tenant: String, _ status: Int, retryAfter: String?, acked ids: [String], sentIn: Phase) {
            lock.withLock {
                statuses[sentIn, default: [:]][tenant, default: [:]][status, default: 0] += 1
                if (status == 429 || status == 503) && retryAfter == nil { missingRetryAfter += 1 }
                acked[tenant, default: []].formUnion(ids)
            }
        }
        func fail(_ text: String) { lock.withLock { failures.append(text) } }
        func rss(_ kilobytes: Int) { lock.withLock { maxRSS[phase] = max(maxRSS[phase] ?? 0, kilobytes) } }
        func setPhase(_ next: Phase) { lock.withLock { phase = next } }
        var current: Phase { lock.withLock { phase } }
        func count(_ phase: Phase, _ tenant: String, _ status: Int) -> Int { lock.withLock { statuses[phase]?[tenant]?[status] ?? 0 } }
        var snapshot: (statuses: [Phase: [String: [Int: Int]]], missingRetryAfter: Int, acked: [String: Set<String>], failures: [String]) {
            lock.withLock { (statuses, missingRetryAfter, acked, failures) }
        }
    }

    static func rss(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func stoppingRedisThenPostgresShedsLoadAndRecovers() async throws {
        let servers = try DedicatedServers()
        defer { servers.stop() }
        let dataDir = servers.directory + "/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let env = [
            "TALLY_DATABASE_URL": servers.databaseURL, "TALLY_REDIS_URL": servers.redisURL, "TALLY_DATA_DIR": dataDir,
            "TALLY_INGEST_TENANT_MAX_INFLIGHT_REQUESTS": "16", "TALLY_INGEST_MAX_INFLIGHT_REQUESTS": "24",
            "TALLY_QUOTA_LEASE_TTL_SECONDS": "4", "TALLY_QUOTA_LEASE_BLOCK_PERCENT": "1", "TALLY_QUOTA_REFRESH_SECONDS": "1",
        ]
        let server = try TallyProcess.Server(env: env, workDir: dataDir)
        try await server.waitUntilListening()
        let op = try String(contentsOfFile: dataDir + "/operator-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var created: [String: String] = [:]
        for slug in ["plain", "leased"] {
            let tenant = try #require(try await server.request("POST", "/v1/tenants", token: op, json: ["slug": slug, "name": slug]).body["id"] as? String)
            created[slug] = try #require(try await server.request("POST", "/v1/tenants/\(tenant)/api-keys", token: op, json: ["name": "k"]).body["secret"] as? String)
            #expect(try await server.request("POST", "/v1/meters", token: created[slug], json: ["slug": "calls", "event_type": "api.call", "aggregation": "COUNT"]).status == 201)
            if slug == "leased" {
                _ = try await server.request("POST", "/v1/features", token: op, json: ["key": "api-calls", "name": "API calls", "kind": "metered", "meter": "calls"])
                _ = try await server.request("POST", "/v1/plans", token: op, json: ["key": "big", "name": "Big", "entitlements": ["api-calls": ["limit": 200_000]]])
                #expect(try await server.request("PUT", "/v1/tenants/\(tenant)/entitlements", token: op, json: ["plan": "big"]).status == 200)
            }
        }

        let tokens = created
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 256
        configuration.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: configuration)
        let log = Log()
        let stop = NSLock()
        nonisolated(unsafe) var running = true
        let pid = server.process.processIdentifier

        /// Posts 5 new events for `tenant` and records the answer; `false` if it was not a 200.
        @Sendable func post(_ tenant: String, _ name: String) async -> Bool {
            let ids = (0..<5).map { "\(name)-\($0)" }
            let sentIn = log.current
            var request = URLRequest(url: URL(string: server.baseURL + "/v1/events")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(tokens[tenant]!)", forHTTPHeaderField: "Authorization")
            request.setValue("application/cloudevents-batch+json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try? JSONSerialization.data(withJSONObject: ids.map { ["specversion": "1.0", "id": $0, "source": "//bp", "type": "api.call"] })
            do {
                let (data, response) = try await session.data(for: request)
                let http = response as! HTTPURLResponse
                var acked: [String] = []
                if http.statusCode == 200, let body = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                   let results = body["results"] as? [[String: Any]] {
                    acked = zip(ids, results).filter { ["accepted", "duplicate"].contains($0.1["status"] as? String) }.map(\.0)
                }
                log.record(tenant, http.statusCode, retryAfter: http.value(forHTTPHeaderField: "Retry-After"), acked: acked, sentIn: sentIn)
                return http.statusCode == 200
            } catch {
                log.fail("\(tenant): \(error)")
                return false
            }
        }

        /// More requests at once than the node admits: the excess must be refused at once.
        @Sendable func burst() async {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<80 {
                    group.addTask { _ = await post(index % 2 == 0 ? "plain" : "leased", "burst-\(UUID().uuidString)") }
                }
            }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<12 {
                let tenant = worker % 2 == 0 ? "plain" : "leased"
                group.addTask {
                    var round = 0
                    while stop.withLock({ running }) {
                        round += 1
                        if await !post(tenant, "\(worker)-\(round)") { try await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
            group.addTask {
                // A probe every 250 ms, each on its own: one slow answer must not leave a phase
                // with no probe sent in it.
                await withTaskGroup(of: Void.self) { probes in
                    while stop.withLock({ running }) {
                        log.rss(Self.rss(of: pid))
                        let sentIn = log.current
                        probes.addTask {
                            if let (_, response) = try? await session.data(from: URL(string: server.baseURL + "/health/ready")!) {
                                log.record("ready", (response as! HTTPURLResponse).statusCode, retryAfter: "n/a", acked: [], sentIn: sentIn)
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(3))
                log.setPhase(.redisStopped)
                servers.signalRedis(SIGSTOP)
                try await Task.sleep(for: .seconds(5))
                servers.signalRedis(SIGCONT)
                log.setPhase(.redisResumed)
                try await Task.sleep(for: .seconds(4))
                log.setPhase(.postgresStopped)
                servers.signalPostgres(SIGSTOP)
                try await Task.sleep(for: .seconds(1))
                async let shed: Void = burst()
                try await Task.sleep(for: .seconds(4))
                servers.signalPostgres(SIGCONT)
                log.setPhase(.postgresResumed)
                await shed
                // Give the backlog a moment, then judge only what follows.
                try await Task.sleep(for: .seconds(3))
                log.setPhase(.recovered)
                try await Task.sleep(for: .seconds(3))
                stop.withLock { running = false }
            }
            try await group.waitForAll()
        }

        let result = log.snapshot
        #expect(result.failures.isEmpty, "transport failures: \(result.failures.prefix(5))")
        #expect(result.missingRetryAfter == 0)
        let allowed: Set<Int> = [200, 429, 503]
        for (phase, tenants) in result.statuses {
            for (tenant, statuses) in tenants where tenant != "ready" {
                #expect(Set(statuses.keys).isSubset(of: allowed), "\(phase) \(tenant): \(statuses)")
            }
        }
        // Redis down: ingest without leases goes on; readiness says so.
        #expect(log.count(.redisStopped, "plain", 200) > 0)
        #expect(log.count(.redisStopped, "ready", 503) > 0)
        // PostgreSQL down: load is shed with 429/503, not queued.
        #expect(log.count(.postgresStopped, "plain", 429) + log.count(.postgresStopped, "plain", 503)
            + log.count(.postgresStopped, "leased", 429) + log.count(.postgresStopped, "leased", 503) > 0)
        #expect(log.count(.postgresStopped, "ready", 503) > 0)
        // Recovered: everything answers 200 again.
        for tenant in ["plain", "leased", "ready"] {
            #expect(log.count(.recovered, tenant, 200) > 0, "\(tenant) did not recover: \(result.statuses[.recovered] ?? [:])")
            #expect(log.count(.recovered, tenant, 503) + log.count(.recovered, tenant, 429) == 0, "\(tenant): \(result.statuses[.recovered] ?? [:])")
        }
        // Memory stays bounded while a dependency is stopped.
        let baseline = log.maxRSS[.warm] ?? 0
        for phase in [Phase.redisStopped, .postgresStopped] {
            #expect((log.maxRSS[phase] ?? 0) < baseline + 150_000, "RSS in \(phase): \(log.maxRSS[phase] ?? 0) kB, warm \(baseline) kB")
        }
        // Exactly once: the ledger holds every acknowledged event and nothing else.
        for tenant in ["plain", "leased"] {
            let now = Int64(Date().timeIntervalSince1970) * 1_000_000
            let range = "from=\(RFC3339.format(microseconds: now - 86_400_000_000))&to=\(RFC3339.format(microseconds: now + 86_400_000_000))&window=day&group_by="
            let reply = try await server.request("GET", "/v1/meters/calls/query?\(range)", token: tokens[tenant])
            let booked = (reply.body["data"] as? [[String: Any]] ?? []).compactMap { ($0["value"] as? String).flatMap { Int($0) } }.reduce(0, +)
            #expect(booked == result.acked[tenant]?.count, "\(tenant): ledger \(booked), acknowledged \(result.acked[tenant]?.count ?? 0)")
        }
        print("backpressure statuses: \(result.statuses.mapValues { $0.mapValues { $0.sorted { $0.key < $1.key } } }); max RSS kB: \(log.maxRSS)")
        #expect(try await server.terminate() == 0)
    }
}
