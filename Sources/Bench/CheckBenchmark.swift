import Actors
import Core
import Entitlements
import Histogram
import Logging
import Metering
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally bench check`: entitlement checks, in process (the tenant's quota in memory, one core)
/// and over HTTP (`POST /v1/entitlements/check` on N connections), in the same run.
public struct CheckBenchmark: Sendable {
    public struct Report: Sendable, Encodable {
        public struct InProcess: Sendable, Encodable {
            public var checks: Int
            public var seconds: Double
            public var checksPerSecond: Double
            public var p50Microseconds: Double
            public var p99Microseconds: Double
            public var p999Microseconds: Double
        }

        public struct OverHTTP: Sendable, Encodable {
            public var connections: Int
            public var requests: Int
            public var seconds: Double
            public var checksPerSecond: Double
            public var p50Milliseconds: Double
            public var p99Milliseconds: Double
            public var p999Milliseconds: Double
            public var statuses: [String: Int]
            /// The server's CPU time per request over the part (its `process_cpu_seconds_total`
            /// before and after each turn), in microseconds; `nil` when it has no such series.
            /// Less noisy than throughput on a shared machine: a slow spell costs time, not CPU.
            public var serverMicrosecondsPerRequest: Double?
        }

        /// One round over HTTP: checks, then the baseline, on the same connections; with
        /// `--plain-url`, then a plain Hummingbird GET too.
        public struct Round: Sendable, Encodable {
            public var http: OverHTTP
            public var baseline: OverHTTP
            /// `GET /health/live` of `tally bench plain-server` (Hummingbird with one route and no
            /// middleware): what the issue's floors are written against.
            public var plain: OverHTTP?
            /// The same check request sent to the plain server, which reads its body and answers
            /// a fixed check-shaped answer: what the request's shape costs without Tally's work.
            public var plainCheck: OverHTTP?
            /// Checks per second over baseline requests per second.
            public var ratio: Double { Self.ratio(http, baseline) }
            /// Checks per second over plain Hummingbird GETs per second.
            public var plainRatio: Double? { plain.map { Self.ratio(http, $0) } }
            /// Check-shaped POSTs to the plain server per second over its GETs per second.
            public var plainShapeRatio: Double? {
                guard let plain, let plainCheck else { return nil }
                return Self.ratio(plainCheck, plain)
            }
            /// Checks per second over the plain server's check-shaped POSTs per second.
            public var plainCheckRatio: Double? { plainCheck.map { Self.ratio(http, $0) } }
            /// Server CPU per check over server CPU per `/health/live`, when both were measured.
            public var cpuRatio: Double? {
                guard let check = http.serverMicrosecondsPerRequest, let live = baseline.serverMicrosecondsPerRequest, live > 0 else { return nil }
                return check / live
            }

            public init(http: OverHTTP, baseline: OverHTTP, plain: OverHTTP? = nil, plainCheck: OverHTTP? = nil) {
                self.http = http
                self.baseline = baseline
                self.plain = plain
                self.plainCheck = plainCheck
            }

            static func ratio(_ part: OverHTTP, _ base: OverHTTP) -> Double {
                base.checksPerSecond > 0 ? part.checksPerSecond / base.checksPerSecond : 0
            }

            enum CodingKeys: String, CodingKey {
                case http, baseline, ratio, plain, plainRatio = "plain_ratio", cpuRatio = "cpu_ratio", plainCheck = "plain_check"
                case plainShapeRatio = "plain_shape_ratio", plainCheckRatio = "plain_check_ratio"
            }

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(http, forKey: .http)
                try container.encode(baseline, forKey: .baseline)
                try container.encode(ratio, forKey: .ratio)
                try container.encodeIfPresent(plain, forKey: .plain)
                try container.encodeIfPresent(plainRatio, forKey: .plainRatio)
                try container.encodeIfPresent(cpuRatio, forKey: .cpuRatio)
                try container.encodeIfPresent(plainCheck, forKey: .plainCheck)
                try container.encodeIfPresent(plainShapeRatio, forKey: .plainShapeRatio)
                try container.encodeIfPresent(plainCheckRatio, forKey: .plainCheckRatio)
            }
        }

        public var runID: String
        /// `nil` with `--http-only`.
        public var inProcess: InProcess?
        /// The checks of the round whose ratio is the median (the only round, by default).
        public var http: OverHTTP?
        /// `GET /health/live` on the same connections in the same round: what the HTTP server
        /// alone does on this machine, the ceiling the checks are compared with.
        public var baseline: OverHTTP?
        /// Every round over HTTP, in order (checks and baseline alternate, so a machine that
        /// slows down or speeds up weighs on both alike).
        public var rounds: [Round]

        public init(runID: String, inProcess: InProcess?, rounds: [Round]) {
            self.runID = runID
            self.inProcess = inProcess
            self.rounds = rounds
            let median = rounds.sorted { $0.ratio < $1.ratio }.dropFirst((rounds.count - 1) / 2).first
            self.http = median?.http
            self.baseline = median?.baseline
        }

        /// The median over rounds of checks per second, of baseline requests per second, and
        /// of their ratio.
        public var medians: (checks: Double, baseline: Double, ratio: Double)? {
            guard !rounds.isEmpty else { return nil }
            return (median(rounds.map(\.http.checksPerSecond)), median(rounds.map(\.baseline.checksPerSecond)), median(rounds.map(\.ratio)))
        }

        /// The medians of the plain Hummingbird GET rate and of checks over it, when every round
        /// measured one.
        public var plainMedians: (plain: Double, ratio: Double)? {
            let plains = rounds.compactMap(\.plain), ratios = rounds.compactMap(\.plainRatio)
            guard !rounds.isEmpty, plains.count == rounds.count else { return nil }
            return (median(plains.map(\.checksPerSecond)), median(ratios))
        }

        /// The medians of the plain server's check-shaped POSTs over its GETs, and of checks over
        /// those POSTs, when every round measured both.
        public var plainCheckMedians: (shape: Double, checks: Double)? {
            let shapes = rounds.compactMap(\.plainShapeRatio), checks = rounds.compactMap(\.plainCheckRatio)
            guard !rounds.isEmpty, shapes.count == rounds.count, checks.count == rounds.count else { return nil }
            return (median(shapes), median(checks))
        }

        /// The issue's HTTP floor, 30,000 checks/s where a plain Hummingbird GET does about
        /// 48,000, as a share of the plain GET rate measured in the same run.
        public static let floorPlainRatio = 30_000.0 / 48_000.0

        public var text: String {
            var lines = ["tally bench check (run \(runID))"]
            if let inProcess {
                lines.append(String(format: "  in process, 1 core: %.0f checks/s, p50 %.2f µs, p99 %.2f µs, p99.9 %.2f µs (%d checks in %.1f s)",
                                    inProcess.checksPerSecond, inProcess.p50Microseconds, inProcess.p99Microseconds, inProcess.p999Microseconds,
                                    inProcess.checks, inProcess.seconds))
            }
            for (index, round) in rounds.enumerated() {
                let http = round.http, baseline = round.baseline
                let label = rounds.count > 1 ? "  round \(index + 1): " : "  "
                lines.append(label + String(format: "over HTTP, %d connections: %.0f checks/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (%d requests in %.1f s)",
                                            http.connections, http.checksPerSecond, http.p50Milliseconds, http.p99Milliseconds, http.p999Milliseconds,
                                            http.requests, http.seconds))
                lines.append(label + "statuses: \(http.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
                lines.append(label + String(format: "baseline GET /health/live, same connections: %.0f req/s, p99 %.2f ms; checks/baseline %.2f",
                                            baseline.checksPerSecond, baseline.p99Milliseconds, round.ratio))
                if let check = round.http.serverMicrosecondsPerRequest, let live = round.baseline.serverMicrosecondsPerRequest, let ratio = round.cpuRatio {
                    lines.append(label + String(format: "server CPU: %.1f µs per check, %.1f µs per /health/live; over it %.2f", check, live, ratio))
                }
                if let plain = round.plain, let ratio = round.plainRatio {
                    lines.append(label + String(format: "plain Hummingbird GET, same connections: %.0f req/s, p99 %.2f ms; checks/plain %.2f",
                                                plain.checksPerSecond, plain.p99Milliseconds, ratio))
                }
                if let plainCheck = round.plainCheck, let shape = round.plainShapeRatio, let checks = round.plainCheckRatio {
                    lines.append(label + String(format: "the same check request to the plain server (body read, fixed answer of a check's shape): %.0f req/s, p99 %.2f ms; %.2f of its GET; checks over it %.2f",
                                                plainCheck.checksPerSecond, plainCheck.p99Milliseconds, shape, checks))
                }
            }
            if rounds.count > 1, let medians {
                lines.append(String(format: "  medians of %d rounds: %.0f checks/s, baseline %.0f req/s, checks/baseline %.2f",
                                    rounds.count, medians.checks, medians.baseline, medians.ratio))
            }
            let cpuRatios = rounds.compactMap(\.cpuRatio)
            if rounds.count > 1, cpuRatios.count == rounds.count {
                lines.append(String(format: "  median server CPU per check over per /health/live: %.2f", median(cpuRatios)))
            }
            if let plainMedians {
                let label = rounds.count > 1 ? "  medians: plain" : "  plain"
                lines.append(label + String(format: " Hummingbird GET %.0f req/s; checks/plain %.2f against the floor's %.3f (30,000 where plain does ~48,000)",
                                            plainMedians.plain, plainMedians.ratio, Self.floorPlainRatio))
            }
            if let plainCheckMedians {
                lines.append(String(format: "  the plain server's check-shaped POST does %.2f of its GET (the request's shape alone); checks do %.2f of that POST (Tally's work)",
                                    plainCheckMedians.shape, plainCheckMedians.checks))
            }
            return lines.joined(separator: "\n")
        }
    }

    public init() {}

    /// Checks against a tenant's quota in memory, back to back on one task, for `duration`:
    /// the path `POST /v1/entitlements/check` takes inside Tally once the request is parsed.
    public func inProcess(duration: Duration) async throws -> Report.InProcess {
        let window = PeriodWindow(start: 0, end: 4_000_000_000, resetsAt: 4_000_000_000)
        let quota = TenantQuota(
            tenantID: .generate(),
            loader: { _, _ in
                var line = QuotaBook.Line(
                    feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(1_000_000_000)), window: window,
                    grants: [Grant(id: "g", amount: Quantity(1_000), effectiveAt: 0)], used: Quantity(123_456)
                )
                line.additive = true
                return QuotaBook(lines: ["calls": line], others: ["sso": .boolean(true)])
            },
            refresh: .seconds(3_600), leasing: nil, logger: Logger(label: "tally.bench")
        )
        let now = Int64(Date().timeIntervalSince1970)
        _ = try await quota.check("calls", amount: .one, now: now)  // loads the book
        var histogram = Histogram<UInt64>(highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        var checks = 0
        var allowed = 0
        let started = ContinuousClock.now
        let end = started + duration
        // Every 8th check is timed on its own (reading the clock twice per check would add a
        // fifth to what is measured); the rate counts every check.
        while ContinuousClock.now < end {
            for index in 0..<1_024 {
                if index & 7 == 0 {
                    let before = ContinuousClock.now
                    if try await quota.check("calls", amount: .one, now: now)?.allowed == true { allowed += 1 }
                    _ = histogram.record(UInt64((ContinuousClock.now - before).totalNanoseconds))
                } else if try await quota.check("calls", amount: .one, now: now)?.allowed == true {
                    allowed += 1
                }
            }
            checks += 1_024
        }
        guard allowed == checks else { throw BenchError("in-process checks were refused: \(checks - allowed) of \(checks)") }
        let seconds = (ContinuousClock.now - started).totalSeconds
        return Report.InProcess(
            checks: checks, seconds: seconds, checksPerSecond: Double(checks) / seconds,
            p50Microseconds: Double(histogram.valueAtPercentile(50)) / 1_000, p99Microseconds: Double(histogram.valueAtPercentile(99)) / 1_000,
            p999Microseconds: Double(histogram.valueAtPercentile(99.9)) / 1_000
        )
    }

    /// Sets up a tenant entitled to a metered feature (through `setup`) and runs checks of it
    /// over HTTP.
    public func overHTTP(setup: BenchSetup, runID: String, connections: Int, duration: Duration) async throws -> Report.OverHTTP {
        try await Self.measure(try await prepare(setup: setup, runID: runID), host: setup.host, port: setup.port, connections: connections, duration: duration)
    }

    /// Sets up the tenant, meter, feature and plan, warms the tenant, and returns the check
    /// request to send.
    public func prepare(setup: BenchSetup, runID: String) async throws -> ByteBuffer {
        let tenant = try await setup.tenant(slug: "bench-check-\(runID)", tenantPerSecond: 1_000_000)
        let feature = "bench-check-\(runID)"
        try await setup.call(.POST, "/v1/meters", token: tenant.token, body: #"{"slug":"calls","event_type":"bench.check","aggregation":"COUNT"}"#, expected: 201)
        try await setup.call(.POST, "/v1/features", body: #"{"key":"\#(feature)","name":"bench check","kind":"metered","meter":"calls"}"#, expected: 201)
        try await setup.call(.POST, "/v1/plans", body: #"{"key":"\#(feature)","name":"bench check","entitlements":{"\#(feature)":{"limit":1000000000000}}}"#, expected: 201)
        try await setup.call(.PUT, "/v1/tenants/\(tenant.id)/entitlements", body: #"{"plan":"\#(feature)"}"#, expected: 200)
        let request = RequestLoad.render(
            method: "POST", path: "/v1/entitlements/check", host: setup.host, token: tenant.token, body: #"{"feature":"\#(feature)","amount":1}"#
        )
        _ = try await RequestLoad(host: setup.host, port: setup.port, connections: 1, duration: .milliseconds(200)).run(request)  // warm the tenant
        return request
    }

    /// `GET /health/live` of another server (`tally bench plain-server`) with the same load.
    public func plain(host: String, port: Int, connections: Int, duration: Duration) async throws -> Report.OverHTTP {
        try await Self.measure(Self.live(host: host), host: host, port: port, connections: connections, duration: duration)
    }

    /// `GET /health/live` as sent to `host`: the baseline request, Tally's and the plain server's.
    static func live(host: String) -> ByteBuffer {
        RequestLoad.render(method: "GET", path: "/health/live", host: host, token: "-", body: nil)
    }

    /// One round: checks, the server's `/health/live` and (with `plain`) a plain Hummingbird GET
    /// and the same check request sent to the plain server, each for `duration` in all, taken
    /// in `slices` turns (checks, baseline, plain, plain check, checks, …) and summed, so a
    /// machine that swings within seconds weighs on every part alike.
    public func round(
        _ request: ByteBuffer, setup: BenchSetup, plain: (host: String, port: Int)?, connections: Int, duration: Duration, slices: Int
    ) async throws -> Report.Round {
        var parts: [(request: ByteBuffer, host: String, port: Int)] = [(request, setup.host, setup.port), (Self.live(host: setup.host), setup.host, setup.port)]
        if let plain {
            parts.append((Self.live(host: plain.host), plain.host, plain.port))
            parts.append((request, plain.host, plain.port))
        }
        let turns = max(1, slices)
        let slice = duration / turns
        var totals = [(turns: MergedTurns, cpu: Double?)](repeating: (MergedTurns(), 0), count: parts.count)
        for _ in 0..<turns {
            for (index, part) in parts.enumerated() {
                // The server's CPU over the turn, for the parts it serves (the plain server has no /metrics).
                let onServer = part.host == setup.host && part.port == setup.port
                let before = onServer ? try await setup.serverCPUSeconds() : nil
                totals[index].turns.add(try await RequestLoad(host: part.host, port: part.port, connections: connections, duration: slice).run(part.request))
                let after = onServer ? try await setup.serverCPUSeconds() : nil
                if let before, let after, let cpu = totals[index].cpu { totals[index].cpu = cpu + (after - before) } else { totals[index].cpu = nil }
            }
        }
        let measured = totals.map { total in
            var part = Self.report(total.turns.stats, seconds: total.turns.seconds, connections: connections)
            if let cpu = total.cpu, total.turns.stats.requests > 0 { part.serverMicrosecondsPerRequest = cpu * 1_000_000 / Double(total.turns.stats.requests) }
            return part
        }
        return Report.Round(
            http: measured[0], baseline: measured[1], plain: measured.count > 2 ? measured[2] : nil, plainCheck: measured.count > 3 ? measured[3] : nil
        )
    }

    static func measure(_ request: ByteBuffer, host: String, port: Int, connections: Int, duration: Duration) async throws -> Report.OverHTTP {
        let (stats, seconds) = try await RequestLoad(host: host, port: port, connections: connections, duration: duration).run(request)
        return report(stats, seconds: seconds, connections: connections)
    }

    static func report(_ stats: RequestLoopStats, seconds: Double, connections: Int) -> Report.OverHTTP {
        let ok = stats.statuses[200] ?? 0
        return Report.OverHTTP(
            connections: connections, requests: stats.requests, seconds: seconds, checksPerSecond: Double(ok) / seconds,
            p50Milliseconds: stats.milliseconds(50), p99Milliseconds: stats.milliseconds(99), p999Milliseconds: stats.milliseconds(99.9),
            statuses: Dictionary(uniqueKeysWithValues: stats.statuses.map { (String($0.key), $0.value) })
        )
    }
}
