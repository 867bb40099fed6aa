import Bench
import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

/// `tally bench ingest`'s engine against a live server, on every backend: the load it reports
/// is what the ledger holds, and the raw baseline books exactly its rows.
@Suite struct BenchIngestTests {
    @Test(arguments: TestBackend.available)
    func loadIsVerifiedAgainstTheLedger(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let acme = try await server.makeTenant("bench", scopes: ["events:write", "meters:write", "usage:read"])
            let bench = IngestBenchmark(IngestBenchmark.Configuration(
                host: "127.0.0.1", port: try #require(server.client.port), token: acme.token, connections: 4, batchSize: 25,
                duplicateRatio: 0.2, duration: .seconds(60), maxEvents: 2_000, runID: "t\(UInt32.random(in: 0...UInt32.max))"
            ))
            #expect(try await bench.tenantID().rawValue == acme.tenantID)
            try await bench.prepare()
            let load = try await bench.load()
            #expect(load.eventsSent == 2_000)
            #expect(load.requests == 80)
            #expect(load.repeats > 200 && load.repeats < 600)
            #expect(load.accepted == load.newEvents)
            #expect(load.duplicates == load.repeats)
            let meter = try await bench.meterTotal(from: load.startedAt.addingTimeInterval(-3_600), to: Date().addingTimeInterval(3_600))
            let rows = try await server.backend.ledger.countEvents(in: TenantScope(operatorActingOn: TenantID(acme.tenantID)!), source: bench.source.source)
            #expect(rows == load.newEvents)
            let verification = IngestBenchReport.Verification.check(load: load, meterTotal: meter, ledgerRows: rows)
            #expect(verification.ok, "\(verification.problems)")
            #expect(verification.meterTotal == load.newEvents)

            // The same figures, told wrong, fail the check.
            #expect(!IngestBenchReport.Verification.check(load: load, meterTotal: meter, ledgerRows: rows + 1).ok)
            #expect(!IngestBenchReport.Verification.check(load: load, meterTotal: meter - 1, ledgerRows: rows).ok)

            let report = IngestBenchReport(runID: "x", url: "http://test", connections: 4, batchSize: 25, duplicateRatio: 0.2, load: load, verification: verification, baseline: nil)
            let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
            #expect(json["events_sent"] as? Int == 2_000)
            #expect((json["verification"] as? [String: Any])?["ok"] as? Bool == true)
            #expect((json["latency_ms"] as? [String: Double])?["p99"] != nil)
            #expect(report.text.contains("verification: ok"))
            #expect(json["plain_ratio"] == nil && !report.text.contains("plain Hummingbird"))

            // With a plain Hummingbird GET measured, requests/s are read against it.
            let plain = IngestBenchReport.PlainGet(requestsPerSecond: report.requestsPerSecond * 4, p99Milliseconds: 1.5)
            let withPlain = IngestBenchReport(
                runID: "x", url: "http://test", connections: 4, batchSize: 25, duplicateRatio: 0.2, load: load, verification: verification, baseline: nil, plain: plain
            )
            #expect(withPlain.plainRatio == 0.25)
            let plainJSON = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(withPlain)) as? [String: Any])
            #expect(plainJSON["plain_ratio"] as? Double == 0.25)
            #expect((plainJSON["plain"] as? [String: Double])?["p99_ms"] == 1.5)
            #expect(withPlain.text.contains("requests/plain 0.25 (the single-event floor, 15,000 where plain does ~48,000, is 0.313)"))
            #expect(plainJSON["plain_durable"] == nil && !withPlain.text.contains("plain durable"))

            // With the plain server's durable POST measured too, requests/s are read against it,
            // and it against the plain GET.
            let durable = IngestBenchReport.PlainGet(requestsPerSecond: report.requestsPerSecond * 2, p99Milliseconds: 9)
            let withDurable = IngestBenchReport(
                runID: "x", url: "http://test", connections: 4, batchSize: 25, duplicateRatio: 0.2, load: load, verification: verification, baseline: nil,
                plain: plain, plainDurable: durable
            )
            #expect(withDurable.plainDurableRatio == 0.5)
            #expect(withDurable.durableOverPlain == 0.5)
            let durableJSON = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(withDurable)) as? [String: Any])
            #expect(durableJSON["plain_durable_ratio"] as? Double == 0.5)
            #expect(durableJSON["plain_durable_over_plain"] as? Double == 0.5)
            #expect((durableJSON["plain_durable"] as? [String: Double])?["p99_ms"] == 9)
            #expect(withDurable.text.contains("requests/plain durable 0.5, itself 0.5 of the plain GET"))
        }
    }

    @Test(arguments: TestBackend.available)
    func theRawBaselineBooksEveryRowOnce(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let result = try await storage.baseline.run(events: 2_500, batchSize: 1_000)
            #expect(result.rowsBooked == 2_500)
            #expect(result.seconds > 0)
            #expect(result.eventsPerSecond > 0)
        }
    }
}
