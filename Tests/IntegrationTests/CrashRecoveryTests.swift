import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// Durable before acknowledged, exactly once: kill -9 the real server in the middle of a long
/// ingest, restart it, let the client retry everything it saw no acknowledgement for, then check
/// the ledger holds exactly one row per event and the rollups equal a recomputation.
@Suite struct CrashRecoveryTests {
    final class Acks: @unchecked Sendable {
        private let lock = NSLock()
        private var acked = Set<Int>()
        func add(_ ids: [Int]) { lock.withLock { acked.formUnion(ids) } }
        var all: Set<Int> { lock.withLock { acked } }
    }

    static let total = 3000
    static let batchSize = 50

    static func event(_ index: Int, base: Int64) -> [String: Any] {
        [
            "specversion": "1.0", "id": "evt-\(index)", "source": "//crash-test", "type": "work",
            "time": RFC3339.format(microseconds: base + Int64(index) * 1_000_000),
            "data": ["units": index % 97 + 1, "kind": index % 3 == 0 ? "a" : "b"],
        ]
    }

    /// Sends batches with `concurrency` workers; records which events were acknowledged.
    static func send(_ indexes: [Int], to server: TallyProcess.Server, token: String, base: Int64, acks: Acks, concurrency: Int) async {
        let batches = stride(from: 0, to: indexes.count, by: batchSize).map { Array(indexes[$0..<min($0 + batchSize, indexes.count)]) }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for batch in batches.enumerated().filter({ $0.offset % concurrency == worker }).map(\.element) {
                        guard let reply = try? await server.request("POST", "/v1/events", token: token, json: batch.map { event($0, base: base) }),
                              reply.status == 200, let results = reply.body["results"] as? [[String: Any]] else { return }
                        let booked = zip(batch, results).filter { ["accepted", "duplicate"].contains($0.1["status"] as? String) }.map(\.0)
                        acks.add(booked)
                    }
                }
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func killNineThenRetryLeavesExactlyOneRowPerEvent(backend: TestBackend) async throws {
        try await ProcessTests.withProcessEnvironment(backend) { settings, env in
            let base = (Int64(Date().timeIntervalSince1970) - 2 * 3600) * 1_000_000

            let first = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await first.waitUntilListening()
            let op = try String(contentsOfFile: settings.dataDir + "/operator-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let tenant = try #require(try await first.request("POST", "/v1/tenants", token: op, json: ["slug": "crash", "name": "Crash"]).body["id"] as? String)
            let token = try #require(try await first.request("POST", "/v1/tenants/\(tenant)/api-keys", token: op, json: ["name": "k"]).body["secret"] as? String)
            for meter: [String: Any] in [
                ["slug": "units", "event_type": "work", "aggregation": "SUM", "value_path": "units", "group_by": ["kind": "data.kind"]],
                ["slug": "count", "event_type": "work", "aggregation": "COUNT"],
            ] {
                #expect(try await first.request("POST", "/v1/meters", token: token, json: meter).status == 201)
            }

            // Ingest everything; kill -9 the server while batches are in flight.
            let acks = Acks()
            let sending = Task { await Self.send(Array(0..<Self.total), to: first, token: token, base: base, acks: acks, concurrency: 4) }
            while acks.all.count < Self.total / 4 { try await Task.sleep(for: .milliseconds(10)) }
            await first.crash()
            await sending.value
            let ackedBeforeCrash = acks.all
            #expect(ackedBeforeCrash.count < Self.total, "the crash must interrupt the ingest")

            // Restart and retry everything unacknowledged, plus some acknowledged events again.
            let second = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await second.waitUntilListening()
            let retry = (0..<Self.total).filter { !ackedBeforeCrash.contains($0) } + ackedBeforeCrash.prefix(200)
            await Self.send(retry, to: second, token: token, base: base, acks: acks, concurrency: 4)
            #expect(acks.all.count == Self.total, "every event is acknowledged after the retry")
            #expect(try await second.terminate() == 0)

            // Check the ledger itself, with the server stopped.
            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                let scope = TenantScope(operatorActingOn: TenantID(tenant)!)
                let events = try await storage.ledger.events(in: scope, type: "work", from: 0, to: .max)
                #expect(events.count == Self.total)
                #expect(Set(events.map(\.id)).count == Self.total)
                let meters = try await storage.ledger.meters(in: scope)
                for meter in meters {
                    var expected: [String: MeterState] = [:]
                    for event in events {
                        guard case .success(let reading)? = meter.reading(of: event) else { continue }
                        let window = WindowSize.minute.bucketStart(containing: RollupBatch.floorSeconds(reading.time))
                        expected["\(window)|\(GroupKey.encode(reading.dimensions))", default: MeterState()].apply(reading)
                    }
                    let rows = try await storage.ledger.rollups(in: scope, meter: meter.slug, fromWindow: 0, toWindow: .max)
                    let actual = Dictionary(uniqueKeysWithValues: rows.map { ("\($0.windowStart)|\($0.groupKey)", $0.state) })
                    #expect(actual == expected, "rollups of \(meter.slug) equal a recomputation from the ledger")
                }
                let units = (0..<Self.total).reduce(0) { $0 + $1 % 97 + 1 }
                let stored = try await storage.ledger.rollups(in: scope, meter: "units", fromWindow: 0, toWindow: .max).reduce(Quantity.zero) { $0 + $1.state.sum }
                #expect(stored == Quantity(units))
            }
        }
    }
}
