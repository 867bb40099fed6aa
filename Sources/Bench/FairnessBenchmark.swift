import NIOPosix
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally bench fairness`: does one tenant sending 10x its rate limit raise another tenant's
/// latency? A quiet tenant posts events at a steady rate below its limit in three phases per
/// round: alone, beside a neighbour sending at its own limit, and beside the same neighbour
/// offering ten times its limit. The report compares the quiet tenant's p99 (medians over the
/// rounds): flooding against alone is the issue's floor as written; flooding against a
/// neighbour within its limit is what the refused excess alone costs the quiet tenant (the
/// accepted part is ordinary shared load: the same ledger, the same cores).
///
/// With `slices` above 1, each round takes its three phases in that many short turns (alone,
/// at its limit, flooding, alone, …) and merges each phase's turns: a machine whose speed
/// drifts over seconds then weighs on the three alike, rather than on whichever phase ran
/// during a slow spell. The neighbour's bucket refills while it waits, so each of its turns
/// starts with a full burst.
///
/// With a plain server (`plain`, `tally bench plain-server`), each turn takes a fourth phase:
/// the quiet tenant beside the same flood (as many connections, at the same pace) sent to the
/// plain server's `GET /health/live` instead of to Tally. That flood costs this machine about
/// the least any HTTP flood can, and none of it is Tally's; the quiet tenant's p99 beside it,
/// over its p99 alone, is what the machine itself adds, the share of the floor no server on it
/// could win back.
public struct FairnessBenchmark: Sendable {
    public struct Configuration: Sendable {
        /// Both tenants' limit, requests per second.
        public var rateLimit: Int
        /// The quiet tenant's offered rate, a share of its limit.
        public var quietShare: Double
        /// The noisy tenant's offered rate, a multiple of its limit.
        public var noisyFactor: Int
        public var quietConnections: Int
        public var noisyConnections: Int
        /// Each phase's length in a round, all its turns together.
        public var phase: Duration
        public var rounds: Int
        /// Turns each phase takes in a round, interleaved with the other phases' turns.
        public var slices: Int
        /// A plain Hummingbird server to flood in a fourth phase (`nil`: three phases).
        public var plain: (host: String, port: Int)?

        public init(
            rateLimit: Int, quietShare: Double = 0.8, noisyFactor: Int = 10, quietConnections: Int = 8, noisyConnections: Int = 32,
            phase: Duration, rounds: Int, slices: Int = 1, plain: (host: String, port: Int)? = nil
        ) {
            self.slices = max(1, slices)
            self.plain = plain
            self.rateLimit = rateLimit
            self.quietShare = quietShare
            self.noisyFactor = noisyFactor
            self.quietConnections = quietConnections
            self.noisyConnections = noisyConnections
            self.phase = phase
            self.rounds = rounds
        }
    }

    public struct Round: Sendable, Encodable {
        public var quietAloneP50: Double
        public var quietAloneP99: Double
        public var quietContendedP50: Double
        public var quietContendedP99: Double
        public var quietAloneRate: Double
        public var quietContendedRate: Double
        /// Beside the neighbour sending at its limit.
        public var quietWithinP50: Double
        public var quietWithinP99: Double
        public var quietWithinRate: Double
        public var neighbourWithinAccepted: Double
        /// The flood's requests answered per second. Scheduled at `noisyFactor` times the limit;
        /// fewer when the server leaves a refused connection unread for a while (`RefusalPause`).
        public var noisyOffered: Double
        public var noisyAccepted: Double
        public var noisyRefused: Double
        public var quietRefused: Int
        /// Beside the same flood sent to the plain server (with a plain server only).
        public var quietBesidePlainP50: Double?
        public var quietBesidePlainP99: Double?
        public var quietBesidePlainRate: Double?
        /// The plain server's answers per second to that flood, and how many were not 200.
        public var plainFloodAnswered: Double?
        public var plainFloodFailed: Int?
    }

    public struct Report: Sendable, Encodable {
        public var runID: String
        public var rateLimit: Int
        /// The flood's schedule, in multiples of the limit.
        public var noisyFactor: Int
        /// Turns per phase in each round.
        public var slices: Int
        public var rounds: [Round]
        /// Median over rounds of the quiet tenant's p99, in milliseconds.
        public var quietAloneP99: Double
        public var quietContendedP99: Double
        public var quietWithinP99: Double
        /// Contended over alone: 1.10 is the 10 % the floor allows.
        public var p99Ratio: Double
        /// Contended over beside a neighbour within its limit: what the refused excess adds.
        public var excessRatio: Double
        /// Median over rounds of the quiet tenant's p99 beside the flood sent to the plain server.
        public var quietBesidePlainP99: Double?
        /// Beside the plain server's flood over alone: what such a flood costs on this machine
        /// whatever the server (with a plain server only).
        public var plainFloodRatio: Double?
        /// Contended over beside the plain server's flood: what Tally adds to the machine's share.
        public var overPlainFloodRatio: Double?

        public var text: String {
            var lines = [
                "tally bench fairness (run \(runID)): both tenants limited to \(rateLimit) req/s, with bursts of up to \(rateLimit) "
                    + "(so a phase's accepted rate can pass the limit by one burst over the phase's length)",
            ]
            if slices > 1 {
                lines.append("  each phase in \(slices) turns per round, interleaved (alone, at its limit, flooding, alone, …), each turn starting the neighbour with a full burst")
            }
            for (index, round) in rounds.enumerated() {
                var line = String(
                    format: "  round %d: quiet p50/p99 alone %.2f/%.2f ms at %.0f req/s; beside a neighbour at its limit (%.0f accepted/s) %.2f/%.2f ms at %.0f req/s; beside it flooding %.2f/%.2f ms at %.0f req/s (scheduled %d req/s, sent %.0f: %.0f accepted, %.0f refused (429) per s); quiet refused %d",
                    index + 1, round.quietAloneP50, round.quietAloneP99, round.quietAloneRate, round.neighbourWithinAccepted,
                    round.quietWithinP50, round.quietWithinP99, round.quietWithinRate, round.quietContendedP50, round.quietContendedP99,
                    round.quietContendedRate, rateLimit * noisyFactor, round.noisyOffered, round.noisyAccepted, round.noisyRefused, round.quietRefused
                )
                if let p50 = round.quietBesidePlainP50, let p99 = round.quietBesidePlainP99, let rate = round.quietBesidePlainRate,
                   let answered = round.plainFloodAnswered {
                    line += String(format: "; beside the same flood sent to the plain server %.2f/%.2f ms at %.0f req/s (%.0f answered/s, %d not 200)",
                                   p50, p99, rate, answered, round.plainFloodFailed ?? 0)
                }
                lines.append(line)
            }
            lines.append(String(format: "  median quiet p99: alone %.2f ms, beside a neighbour at its limit %.2f ms, beside it flooding %.2f ms", quietAloneP99, quietWithinP99, quietContendedP99))
            lines.append(String(format: "  flooding over alone %.3f (floor 1.10); flooding over at its limit %.3f (the refused excess alone)", p99Ratio, excessRatio))
            if let besidePlain = quietBesidePlainP99, let machine = plainFloodRatio, let over = overPlainFloodRatio {
                lines.append(String(
                    format: "  beside the same flood sent to a plain Hummingbird GET: quiet p99 %.2f ms, %.3f of alone (what such a flood costs on this machine, whatever the server); flooding Tally over flooding the plain server %.3f",
                    besidePlain, machine, over
                ))
            }
            return lines.joined(separator: "\n")
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public func run(setup: BenchSetup, runID: String) async throws -> Report {
        let c = configuration
        let quiet = try await setup.tenant(slug: "bench-quiet-\(runID)", tenantPerSecond: c.rateLimit)
        let noisy = try await setup.tenant(slug: "bench-noisy-\(runID)", tenantPerSecond: c.rateLimit)
        for tenant in [quiet, noisy] {
            try await setup.call(.POST, "/v1/meters", token: tenant.token, body: #"{"slug":"calls","event_type":"bench.fair","aggregation":"COUNT"}"#, expected: 201)
        }
        // One fixed event per tenant: after the first it is a duplicate, which takes the whole
        // ingest path (validation, group commit, the ledger's dedup) and books nothing more.
        let event = { (name: String) in #"{"specversion":"1.0","id":"\#(name)","source":"//bench-fair","type":"bench.fair"}"# }
        let quietRequest = RequestLoad.render(method: "POST", path: "/v1/events", host: setup.host, token: quiet.token, body: event("quiet-\(runID)"))
        let noisyRequest = RequestLoad.render(method: "POST", path: "/v1/events", host: setup.host, token: noisy.token, body: event("noisy-\(runID)"))
        let quietRate = Double(c.rateLimit) * c.quietShare
        let noisyRate = Double(c.rateLimit * c.noisyFactor)
        let turn = c.phase / c.slices
        // The quiet tenant's connections get an event loop of their own, so its answers are not
        // timed behind the noisy tenant's in this client.
        let quietGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let quietLoad = RequestLoad(
            host: setup.host, port: setup.port, connections: c.quietConnections, duration: turn,
            interval: .nanoseconds(Int64(Double(c.quietConnections) / quietRate * 1e9)), group: quietGroup
        )
        let noisyLoad = RequestLoad(
            host: setup.host, port: setup.port, connections: c.noisyConnections, duration: turn,
            interval: .nanoseconds(Int64(Double(c.noisyConnections) / noisyRate * 1e9))
        )
        // The same neighbour within its limit: the accepted load of the flooding phase, without
        // the excess (fewer connections at the same pace each, so it never waits on a refusal).
        let withinConnections = max(1, c.noisyConnections / c.noisyFactor)
        let withinLoad = RequestLoad(
            host: setup.host, port: setup.port, connections: withinConnections, duration: turn,
            interval: .nanoseconds(Int64(Double(withinConnections) / Double(c.rateLimit) * 1e9))
        )
        // The same flood, sent to the plain server.
        let plainFlood = c.plain.map { plain in
            (load: RequestLoad(host: plain.host, port: plain.port, connections: noisyLoad.connections, duration: turn, interval: noisyLoad.interval),
             request: CheckBenchmark.live(host: plain.host))
        }
        // Warm up with one request (more would spend the quiet tenant's own rate limit).
        _ = try await RequestLoad(host: setup.host, port: setup.port, connections: 1, duration: .milliseconds(1)).run(quietRequest)
        var rounds: [Round] = []
        for _ in 0..<c.rounds {
            var alone = MergedTurns(), within = MergedTurns(), neighbour = MergedTurns(), contended = MergedTurns(), noise = MergedTurns()
            var besidePlain = MergedTurns(), plainNoise = MergedTurns()
            for _ in 0..<c.slices {
                alone.add(try await quietLoad.run(quietRequest))
                async let withinNeighbour = withinLoad.run(noisyRequest)
                within.add(try await quietLoad.run(quietRequest))
                neighbour.add(try await withinNeighbour)
                async let contendedNoisy = noisyLoad.run(noisyRequest)
                contended.add(try await quietLoad.run(quietRequest))
                noise.add(try await contendedNoisy)
                if let plainFlood {
                    async let flood = plainFlood.load.run(plainFlood.request)
                    besidePlain.add(try await quietLoad.run(quietRequest))
                    plainNoise.add(try await flood)
                }
            }
            // The fourth phase's figures, when there was one.
            let besidePlainFigures = plainFlood.map { _ in
                (p50: besidePlain.stats.milliseconds(50), p99: besidePlain.stats.milliseconds(99), rate: besidePlain.rate(),
                 answered: plainNoise.rate(status: 200), failed: plainNoise.stats.requests - (plainNoise.stats.statuses[200] ?? 0))
            }
            rounds.append(Round(
                quietAloneP50: alone.stats.milliseconds(50), quietAloneP99: alone.stats.milliseconds(99),
                quietContendedP50: contended.stats.milliseconds(50), quietContendedP99: contended.stats.milliseconds(99),
                quietAloneRate: alone.rate(), quietContendedRate: contended.rate(),
                quietWithinP50: within.stats.milliseconds(50), quietWithinP99: within.stats.milliseconds(99),
                quietWithinRate: within.rate(), neighbourWithinAccepted: neighbour.rate(status: 200),
                noisyOffered: noise.rate(), noisyAccepted: noise.rate(status: 200), noisyRefused: noise.rate(status: 429),
                quietRefused: (alone.stats.statuses[429] ?? 0) + (within.stats.statuses[429] ?? 0) + (contended.stats.statuses[429] ?? 0)
                    + (besidePlain.stats.statuses[429] ?? 0),
                quietBesidePlainP50: besidePlainFigures?.p50, quietBesidePlainP99: besidePlainFigures?.p99,
                quietBesidePlainRate: besidePlainFigures?.rate, plainFloodAnswered: besidePlainFigures?.answered,
                plainFloodFailed: besidePlainFigures?.failed
            ))
        }
        try? await quietGroup.shutdownGracefully()
        let aloneP99 = median(rounds.map(\.quietAloneP99)), contendedP99 = median(rounds.map(\.quietContendedP99))
        let withinP99 = median(rounds.map(\.quietWithinP99))
        let besidePlainP99 = plainFlood == nil ? nil : median(rounds.compactMap(\.quietBesidePlainP99))
        return Report(runID: runID, rateLimit: c.rateLimit, noisyFactor: c.noisyFactor, slices: c.slices, rounds: rounds, quietAloneP99: aloneP99, quietContendedP99: contendedP99,
                      quietWithinP99: withinP99, p99Ratio: aloneP99 > 0 ? contendedP99 / aloneP99 : 0,
                      excessRatio: withinP99 > 0 ? contendedP99 / withinP99 : 0,
                      quietBesidePlainP99: besidePlainP99,
                      plainFloodRatio: besidePlainP99.map { aloneP99 > 0 ? $0 / aloneP99 : 0 },
                      overPlainFloodRatio: besidePlainP99.map { $0 > 0 ? contendedP99 / $0 : 0 })
    }
}
