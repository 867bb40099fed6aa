import Bench
import Core
import Foundation
import TallyTestSupport
import Testing

/// `tally bench check` and `tally bench fairness` engines against a live server: the requests
/// they send are answered as the benchmark claims (checks allowed; the noisy tenant refused
/// with 429 past its limit, the quiet one never).
@Suite struct BenchCheckFairnessTests {
    @Test func checksRunInProcessAndOverHTTP() async throws {
        let inProcess = try await CheckBenchmark().inProcess(duration: .milliseconds(200))
        #expect(inProcess.checks > 0)
        #expect(inProcess.p50Microseconds > 0 && inProcess.p50Microseconds <= inProcess.p99Microseconds)
        try await TestServer.run(.sqlite) { server in
            let setup = BenchSetup(host: "127.0.0.1", port: try #require(server.client.port), operatorToken: server.operatorToken)
            let http = try await CheckBenchmark().overHTTP(setup: setup, runID: "t\(UInt32.random(in: 0...UInt32.max))", connections: 4, duration: .seconds(1))
            // How many requests fit in a second depends on how busy the machine is (CI runs every
            // suite at once); what the benchmark claims is that each one it counted was a 200.
            #expect(http.requests > 0)
            #expect(http.statuses == ["200": http.requests], "\(http.statuses)")
        }
    }

    /// Paced connections do not all send at once: connection k of n sends its first request k/n
    /// of an interval in. Four connections, one request per 2 s each, for 1.2 s: the first
    /// requests go at 0, 0.5, 1.0 and 1.5 s, so the last falls past the end (all four would go
    /// at once without the spread, and none twice).
    @Test func firstDelaysSpreadOverOneInterval() {
        #expect((0..<4).map { RequestLoad.firstDelay(connection: $0, of: 4, interval: .seconds(2)) }
            == [.zero, .milliseconds(500), .seconds(1), .milliseconds(1_500)])
        #expect(RequestLoad.firstDelay(connection: 3, of: 4, interval: nil) == .zero)
    }

    @Test func pacedConnectionsSpreadTheirFirstRequestsOverOneInterval() async throws {
        try await TestServer.run(.sqlite) { server in
            let port = try #require(server.client.port)
            let load = RequestLoad(host: "127.0.0.1", port: port, connections: 4, duration: .milliseconds(1_200), interval: .seconds(2))
            let (stats, _) = try await load.run(RequestLoad.render(method: "GET", path: "/health/live", host: "127.0.0.1", token: "-", body: nil))
            // At most three: the fourth is due past the end. (No lower bound: on a loaded
            // machine even the first may miss the end; `firstDelaysSpreadOverOneInterval` checks
            // the schedule itself.)
            #expect(stats.requests <= 3, "\(stats.statuses)")
            #expect(stats.statuses[200] == stats.requests)
        }
    }

    /// A round in slices: every part (checks, the server's `/health/live`, the plain GET and the
    /// check sent to the plain server: here the same server's) is loaded in each turn, and its
    /// figures are the sums of its turns.
    @Test func aRoundInSlicesSumsEveryPartsTurns() async throws {
        try await TestServer.run(.sqlite) { server in
            let port = try #require(server.client.port)
            let setup = BenchSetup(host: "127.0.0.1", port: port, operatorToken: server.operatorToken)
            let bench = CheckBenchmark()
            let request = try await bench.prepare(setup: setup, runID: "t\(UInt32.random(in: 0...UInt32.max))")
            let round = try await bench.round(request, setup: setup, plain: ("127.0.0.1", port), connections: 2, duration: .seconds(3), slices: 3)
            let plain = try #require(round.plain), plainCheck = try #require(round.plainCheck)
            // The server's CPU per request, read off its /metrics around each turn (here the
            // test process's, load generator included).
            let check = try #require(round.http.serverMicrosecondsPerRequest), live = try #require(round.baseline.serverMicrosecondsPerRequest)
            #expect(check > 0 && live > 0)
            #expect(round.cpuRatio == check / live)
            for part in [round.http, round.baseline, plain, plainCheck] {
                #expect(part.requests > 0 && part.statuses == ["200": part.requests], "\(part.statuses)")
                // Its turns add up to the round's duration (plus connecting each turn). A turn of a
                // second leaves room for a busy CI machine to connect and answer.
                #expect(part.seconds >= 2.9 && part.seconds < 60, "\(part.seconds)")
            }
            #expect(round.plainRatio == round.http.checksPerSecond / plain.checksPerSecond)
            #expect(round.plainShapeRatio == plainCheck.checksPerSecond / plain.checksPerSecond)
            #expect(round.plainCheckRatio == round.http.checksPerSecond / plainCheck.checksPerSecond)
        }
    }

    /// In one stretch per phase, and in two interleaved turns per phase (each of the neighbour's
    /// turns starts with a full burst, so the bound on what it gets accepted grows by one burst).
    /// The second also floods a plain server in a fourth phase (here the same server's
    /// `/health/live`, which needs no key).
    @Test(arguments: zip([1, 2], [false, true]))
    func theNoisyTenantIsRefusedAndTheQuietOneIsNot(slices: Int, withPlain: Bool) async throws {
        try await TestServer.run(.sqlite) { server in
            let port = try #require(server.client.port)
            let setup = BenchSetup(host: "127.0.0.1", port: port, operatorToken: server.operatorToken)
            // A low limit, so that even a slow (debug, busy) server sees the noisy tenant pass it.
            let bench = FairnessBenchmark(FairnessBenchmark.Configuration(
                rateLimit: 4, quietShare: 0.25, noisyFactor: 10, quietConnections: 2, noisyConnections: 8, phase: .seconds(2), rounds: 1,
                slices: slices, plain: withPlain ? (host: "127.0.0.1", port: port) : nil
            ))
            let report = try await bench.run(setup: setup, runID: "t\(UInt32.random(in: 0...UInt32.max))")
            let round = try #require(report.rounds.first)
            #expect(round.quietRefused == 0, "\(round)")
            #expect(round.quietAloneRate > 0 && round.quietWithinRate > 0 && round.quietContendedRate > 0, "\(round)")
            // Within its limit the neighbour is served; flooding, it is held to the limit.
            #expect(round.neighbourWithinAccepted > 0, "\(round)")
            #expect(round.noisyRefused > 0, "\(round)")
            // 4/s for 2 s plus the burst of 4 per turn (and rounding).
            #expect(round.noisyAccepted * 2 <= Double(4 * 2 + 4 * slices + 1), "\(round)")
            #expect(report.p99Ratio > 0 && report.excessRatio > 0)
            #expect(report.p99Ratio == report.quietContendedP99 / report.quietAloneP99)
            #expect(report.excessRatio == report.quietContendedP99 / report.quietWithinP99)
            #expect(report.text.contains("limited to 4 req/s, with bursts of up to 4"), "\(report.text)")
            #expect(report.slices == slices)
            // The flood's schedule is reported beside what it got sent (a refused connection is
            // left unread for a while, so it sends less than scheduled).
            #expect(report.noisyFactor == 10)
            #expect(report.text.contains("scheduled 40 req/s, sent "), "\(report.text)")
            #expect(round.noisyOffered <= 41 && abs(round.noisyOffered - round.noisyAccepted - round.noisyRefused) < 0.001, "\(round)")
            #expect(report.text.contains("each phase in 2 turns per round") == (slices == 2), "\(report.text)")
            if withPlain {
                // The same flood (40/s offered over 8 connections) went to the plain server and
                // was answered there; the quiet tenant was measured beside it.
                let answered = try #require(round.plainFloodAnswered)
                #expect(answered > 10 && answered < 60, "\(round)")
                #expect(round.plainFloodFailed == 0, "\(round)")
                let besidePlain = try #require(round.quietBesidePlainP99)
                #expect(besidePlain > 0 && (round.quietBesidePlainRate ?? 0) > 0, "\(round)")
                #expect(report.quietBesidePlainP99 == besidePlain)
                #expect(report.plainFloodRatio == besidePlain / report.quietAloneP99)
                #expect(report.overPlainFloodRatio == report.quietContendedP99 / besidePlain)
                #expect(report.text.contains("beside the same flood sent to a plain Hummingbird GET"), "\(report.text)")
            } else {
                #expect(round.quietBesidePlainP99 == nil && round.plainFloodAnswered == nil && report.plainFloodRatio == nil)
                #expect(!report.text.contains("plain"), "\(report.text)")
            }
        }
    }
}
