@testable import Bench
import Foundation
import Testing

/// `tally bench check --rounds`: each round is reported, the headline round is the one whose
/// checks/baseline ratio is the median, and the medians are of each figure on its own.
@Suite struct CheckReportTests {
    static func part(_ perSecond: Double, p99: Double = 5) -> CheckBenchmark.Report.OverHTTP {
        .init(connections: 64, requests: Int(perSecond), seconds: 1, checksPerSecond: perSecond, p50Milliseconds: 1, p99Milliseconds: p99,
              p999Milliseconds: p99 * 2, statuses: ["200": Int(perSecond)])
    }

    @Test func roundsGiveMediansAndTheMedianRoundHeadlines() throws {
        let rounds: [CheckBenchmark.Report.Round] = [
            .init(http: Self.part(10_000), baseline: Self.part(40_000)),  // 0.25
            .init(http: Self.part(20_000, p99: 7), baseline: Self.part(32_000)),  // 0.625
            .init(http: Self.part(15_000), baseline: Self.part(30_000)),  // 0.5
        ]
        let report = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: rounds)
        let medians = try #require(report.medians)
        #expect(medians.checks == 15_000 && medians.baseline == 32_000 && medians.ratio == 0.5)
        #expect(report.http?.checksPerSecond == 15_000 && report.baseline?.checksPerSecond == 30_000)
        #expect(report.text.contains("round 3: over HTTP"))
        #expect(report.text.contains("medians of 3 rounds: 15000 checks/s, baseline 32000 req/s, checks/baseline 0.50"))
        #expect(!report.text.contains("in process"))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let encoded = try #require(json["rounds"] as? [[String: Any]])
        #expect(encoded.count == 3 && (encoded[1]["ratio"] as? Double) == 0.625)
    }

    /// With the server's CPU per request measured, each round reads it and the report gives the
    /// median of CPU per check over CPU per `/health/live`; without, nothing is said of CPU.
    @Test func serverCPUPerRequestIsReportedWhenMeasured() throws {
        func round(_ check: Double?, _ live: Double?) -> CheckBenchmark.Report.Round {
            var http = Self.part(15_000), baseline = Self.part(30_000)
            http.serverMicrosecondsPerRequest = check
            baseline.serverMicrosecondsPerRequest = live
            return .init(http: http, baseline: baseline)
        }
        let measured = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: [round(90, 45), round(100, 40), round(80, 50)])
        #expect(measured.rounds.map(\.cpuRatio) == [2.0, 2.5, 1.6])
        #expect(measured.text.contains("round 1: server CPU: 90.0 µs per check, 45.0 µs per /health/live; over it 2.00"), "\(measured.text)")
        #expect(measured.text.contains("median server CPU per check over per /health/live: 2.00"))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(measured)) as? [String: Any])
        let encoded = try #require(json["rounds"] as? [[String: Any]])
        #expect(encoded[1]["cpu_ratio"] as? Double == 2.5)
        #expect((encoded[1]["http"] as? [String: Any])?["serverMicrosecondsPerRequest"] as? Double == 100)

        let unmeasured = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: [round(nil, nil), round(90, nil)])
        #expect(unmeasured.rounds.allSatisfy { $0.cpuRatio == nil })
        #expect(!unmeasured.text.contains("server CPU"))
    }

    @Test func theServersCPUIsReadOffItsMetrics() {
        let text = "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
            + "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.34\nprocess_cpu_seconds_totally 9\n"
        #expect(BenchSetup.cpuSeconds(inMetrics: text) == 12.34)
        #expect(BenchSetup.cpuSeconds(inMetrics: "tally_http_requests_total 3\n") == nil)
    }

    @Test func oneRoundReadsAsBefore() {
        let report = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: [.init(http: Self.part(12_000), baseline: Self.part(24_000))])
        #expect(report.text.contains("  over HTTP, 64 connections: 12000 checks/s"))
        #expect(report.text.contains("checks/baseline 0.50"))
        #expect(!report.text.contains("medians"))
        #expect(CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: []).medians == nil)
    }

    @Test func plainRoundsReadChecksAgainstThePlainGet() throws {
        let rounds: [CheckBenchmark.Report.Round] = [
            .init(http: Self.part(12_000), baseline: Self.part(24_000), plain: Self.part(40_000)),  // 0.30
            .init(http: Self.part(15_000), baseline: Self.part(25_000), plain: Self.part(30_000)),  // 0.50
            .init(http: Self.part(18_000), baseline: Self.part(30_000), plain: Self.part(36_000)),  // 0.50
        ]
        let report = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: rounds)
        let plain = try #require(report.plainMedians)
        #expect(plain.plain == 36_000 && plain.ratio == 0.5)
        #expect(report.text.contains("plain Hummingbird GET, same connections: 40000 req/s"))
        #expect(report.text.contains("medians: plain Hummingbird GET 36000 req/s; checks/plain 0.50 against the floor's 0.625 (30,000 where plain does ~48,000)"))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let encoded = try #require(json["rounds"] as? [[String: Any]])
        #expect((encoded[0]["plain_ratio"] as? Double) == 0.3)
        // Without a plain phase in every round there is no plain median, and none is printed.
        let mixed = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: [rounds[0], .init(http: Self.part(1), baseline: Self.part(2))])
        #expect(mixed.plainMedians == nil && !mixed.text.contains("checks/plain 0.30 against"))
    }

    /// With the plain server's check-shaped POST measured, each round reads it against the plain
    /// GET (the shape alone) and the checks against it (Tally's work); the medians are of each.
    @Test func plainCheckRoundsTellTheShapeFromTallysWork() throws {
        let rounds: [CheckBenchmark.Report.Round] = [
            .init(http: Self.part(12_000), baseline: Self.part(24_000), plain: Self.part(40_000), plainCheck: Self.part(30_000)),  // 0.75, 0.40
            .init(http: Self.part(15_000), baseline: Self.part(25_000), plain: Self.part(30_000), plainCheck: Self.part(24_000)),  // 0.80, 0.625
            .init(http: Self.part(18_000), baseline: Self.part(30_000), plain: Self.part(36_000), plainCheck: Self.part(25_200)),  // 0.70, ≈0.714
        ]
        #expect(rounds.map(\.plainShapeRatio) == [0.75, 0.8, 0.7])
        #expect(rounds.map(\.plainCheckRatio) == [0.4, 0.625, 18_000.0 / 25_200])
        let report = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: rounds)
        let medians = try #require(report.plainCheckMedians)
        #expect(medians.shape == 0.75 && medians.checks == 0.625)
        #expect(report.text.contains("round 2: the same check request to the plain server (body read, fixed answer of a check's shape): 24000 req/s, p99 5.00 ms; 0.80 of its GET; checks over it 0.62"), "\(report.text)")
        #expect(report.text.contains("the plain server's check-shaped POST does 0.75 of its GET (the request's shape alone); checks do 0.62 of that POST (Tally's work)"), "\(report.text)")
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let encoded = try #require(json["rounds"] as? [[String: Any]])
        #expect(encoded[1]["plain_shape_ratio"] as? Double == 0.8 && encoded[1]["plain_check_ratio"] as? Double == 0.625)
        #expect((encoded[0]["plain_check"] as? [String: Any])?["checksPerSecond"] as? Double == 30_000)
        // A round without it: no medians, no line, no keys.
        let mixed = CheckBenchmark.Report(runID: "r", inProcess: nil, rounds: [rounds[0], .init(http: Self.part(1), baseline: Self.part(2), plain: Self.part(3))])
        #expect(mixed.plainCheckMedians == nil && !mixed.text.contains("check-shaped POST does"))
        let mixedJSON = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(mixed)) as? [String: Any])
        #expect((mixedJSON["rounds"] as? [[String: Any]])?[1]["plain_check"] == nil)
    }
}
