import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A benchmark run's figures and its verdict, for people (`text`) and machines (JSON).
public struct IngestBenchReport: Sendable, Encodable {
    /// What the load phase measured.
    public struct Load: Sendable {
        let stats: WorkerStats
        public let seconds: Double
        public let startedAt: Date

        public var requests: Int { stats.requests }
        public var eventsSent: Int { stats.eventsSent }
        /// Distinct new event ids in acknowledged batches: what the ledger must hold.
        public var newEvents: Int { stats.newEvents }
        public var repeats: Int { stats.repeats }
        public var accepted: Int { stats.counts.accepted }
        public var duplicates: Int { stats.counts.duplicates }
        public var rejected: Int { stats.counts.rejected }
        public var unacknowledged: Int { stats.unacknowledged }
        public var retriedBatches: Int { stats.retriedBatches }
        public var failedResponses: [Int: Int] { stats.failedResponses }
        public var connectionErrors: Int { stats.connectionErrors }

        public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

        /// Latency percentile in milliseconds.
        public func latency(_ percentile: Double) -> Double { Double(stats.latency.valueAtPercentile(percentile)) / 1_000 }
        public var maxLatency: Double { Double(stats.latency.max) / 1_000 }
    }

    /// Whether the ledger and the meter hold exactly what the server acknowledged.
    public struct Verification: Sendable, Encodable, Equatable {
        public var expectedEvents: Int
        public var meterTotal: Int
        /// `nil` when the ledger was not read directly (`--no-ledger`).
        public var ledgerRows: Int?
        public var problems: [String]
        public var ok: Bool { problems.isEmpty }

        /// The checks, pure: every acknowledged new event is booked once (plus, at most, the new
        /// events of batches given up on); the meter equals the ledger; with no retries, the
        /// server's counts equal what was sent.
        public static func check(load: Load, meterTotal: Int, ledgerRows: Int?) -> Verification {
            var problems: [String] = []
            let low = load.newEvents, high = load.newEvents + load.unacknowledged
            let booked = ledgerRows ?? meterTotal
            if booked < low || booked > high {
                problems.append(ledgerRows == nil
                    ? "the meter counts \(meterTotal) events; \(low) were acknowledged as new"
                    : "the ledger holds \(booked) events of the run; \(low) were acknowledged as new\(high > low ? " (up to \(high) with unacknowledged batches)" : "")")
            }
            if let ledgerRows, meterTotal != ledgerRows {
                problems.append("the meter counts \(meterTotal) events but the ledger holds \(ledgerRows)")
            }
            if load.retriedBatches == 0, load.unacknowledged == 0 {
                if load.accepted != load.newEvents { problems.append("the server accepted \(load.accepted) events; \(load.newEvents) new ones were sent") }
                if load.duplicates != load.repeats { problems.append("the server answered \(load.duplicates) duplicates; \(load.repeats) repeats were sent") }
            }
            if load.rejected > 0 { problems.append("the server rejected \(load.rejected) events") }
            return Verification(expectedEvents: low, meterTotal: meterTotal, ledgerRows: ledgerRows, problems: problems)
        }

        enum CodingKeys: String, CodingKey { case ok, expectedEvents = "expected_events", meterTotal = "meter_total", ledgerRows = "ledger_rows", problems }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ok, forKey: .ok)
            try c.encode(expectedEvents, forKey: .expectedEvents)
            try c.encode(meterTotal, forKey: .meterTotal)
            try c.encode(ledgerRows, forKey: .ledgerRows)
            try c.encode(problems, forKey: .problems)
        }
    }

    public var runID: String
    public var url: String
    public var connections: Int
    public var batchSize: Int
    public var duplicateRatio: Double
    public var load: Load
    public var verification: Verification
    public var baseline: IngestBaselineResult?
    /// A plain Hummingbird GET (`tally bench plain-server`) on as many connections, after the
    /// load: what the issue's request floors are written against (`--plain-url`).
    public var plain: PlainGet?
    /// The same single events posted to the plain server's durable `POST /v1/events` (with
    /// `--database-url`): Hummingbird and a group commit of each event's id and body into one
    /// PostgreSQL table, and nothing of Tally's. What acknowledging durably costs on this machine.
    public var plainDurable: PlainGet?

    /// Requests per second and p99 of a plain server's load.
    public struct PlainGet: Sendable, Encodable, Equatable {
        public var requestsPerSecond: Double
        public var p99Milliseconds: Double

        public init(requestsPerSecond: Double, p99Milliseconds: Double) {
            self.requestsPerSecond = requestsPerSecond
            self.p99Milliseconds = p99Milliseconds
        }

        /// A load's requests/s and p99.
        public init(_ load: Load) {
            self.init(requestsPerSecond: load.requestsPerSecond, p99Milliseconds: load.latency(99))
        }

        enum CodingKeys: String, CodingKey { case requestsPerSecond = "requests_per_second", p99Milliseconds = "p99_ms" }
    }

    /// The single-event floor, 15,000 requests/s where a plain Hummingbird GET does about
    /// 48,000, as a share of the plain GET rate measured in the same run.
    public static let floorPlainRatio = 15_000.0 / 48_000.0

    public init(
        runID: String, url: String, connections: Int, batchSize: Int, duplicateRatio: Double, load: Load, verification: Verification,
        baseline: IngestBaselineResult?, plain: PlainGet? = nil, plainDurable: PlainGet? = nil
    ) {
        self.runID = runID
        self.url = url
        self.connections = connections
        self.batchSize = batchSize
        self.duplicateRatio = duplicateRatio
        self.load = load
        self.verification = verification
        self.baseline = baseline
        self.plain = plain
        self.plainDurable = plainDurable
    }

    public var eventsPerSecond: Double { load.seconds > 0 ? Double(load.eventsSent) / load.seconds : 0 }
    public var requestsPerSecond: Double { load.requestsPerSecond }
    /// Ingest events/s over the baseline's raw rows/s.
    public var baselineRatio: Double? { baseline.map { $0.eventsPerSecond > 0 ? eventsPerSecond / $0.eventsPerSecond : 0 } }
    /// Ingest requests/s over plain Hummingbird GETs/s.
    public var plainRatio: Double? { plain.map(share(of:)) }
    /// Ingest requests/s over the plain durable POST's requests/s.
    public var plainDurableRatio: Double? { plainDurable.map(share(of:)) }
    /// The plain durable POST's requests/s over the plain GET's: what the machine leaves for durable single events.
    public var durableOverPlain: Double? {
        guard let plain, let plainDurable, plain.requestsPerSecond > 0 else { return nil }
        return plainDurable.requestsPerSecond / plain.requestsPerSecond
    }

    /// These requests/s over a plain server's (0 if it answered none).
    private func share(of plain: PlainGet) -> Double { plain.requestsPerSecond > 0 ? requestsPerSecond / plain.requestsPerSecond : 0 }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", url, connections, batchSize = "batch_size", duplicateRatio = "duplicate_ratio", seconds, requests
        case eventsSent = "events_sent", eventsPerSecond = "events_per_second", requestsPerSecond = "requests_per_second", latencyMs = "latency_ms"
        case accepted, duplicates, rejected, newEvents = "new_events", repeats, retriedBatches = "retried_batches", unacknowledged = "unacknowledged_events"
        case failedResponses = "failed_responses", connectionErrors = "connection_errors", verification, baseline, baselineRatio = "baseline_ratio"
        case plain, plainRatio = "plain_ratio", plainDurable = "plain_durable", plainDurableRatio = "plain_durable_ratio"
        case durableOverPlain = "plain_durable_over_plain"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runID, forKey: .runID)
        try c.encode(url, forKey: .url)
        try c.encode(connections, forKey: .connections)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(duplicateRatio, forKey: .duplicateRatio)
        try c.encode(Self.round(load.seconds), forKey: .seconds)
        try c.encode(load.requests, forKey: .requests)
        try c.encode(load.eventsSent, forKey: .eventsSent)
        try c.encode(Self.round(eventsPerSecond), forKey: .eventsPerSecond)
        try c.encode(Self.round(requestsPerSecond), forKey: .requestsPerSecond)
        try c.encode(["p50": load.latency(50), "p99": load.latency(99), "p999": load.latency(99.9), "max": load.maxLatency].mapValues(Self.round), forKey: .latencyMs)
        try c.encode(load.accepted, forKey: .accepted)
        try c.encode(load.duplicates, forKey: .duplicates)
        try c.encode(load.rejected, forKey: .rejected)
        try c.encode(load.newEvents, forKey: .newEvents)
        try c.encode(load.repeats, forKey: .repeats)
        try c.encode(load.retriedBatches, forKey: .retriedBatches)
        try c.encode(load.unacknowledged, forKey: .unacknowledged)
        try c.encode(Dictionary(uniqueKeysWithValues: load.failedResponses.map { (String($0.key), $0.value) }), forKey: .failedResponses)
        try c.encode(load.connectionErrors, forKey: .connectionErrors)
        try c.encode(verification, forKey: .verification)
        try c.encodeIfPresent(baseline, forKey: .baseline)
        try c.encodeIfPresent(baselineRatio.map(Self.round), forKey: .baselineRatio)
        try c.encodeIfPresent(plain, forKey: .plain)
        try c.encodeIfPresent(plainRatio.map(Self.round), forKey: .plainRatio)
        try c.encodeIfPresent(plainDurable, forKey: .plainDurable)
        try c.encodeIfPresent(plainDurableRatio.map(Self.round), forKey: .plainDurableRatio)
        try c.encodeIfPresent(durableOverPlain.map(Self.round), forKey: .durableOverPlain)
    }

    static func round(_ value: Double) -> Double { (value * 1_000).rounded() / 1_000 }

    /// The report for people.
    public var text: String {
        func number(_ value: Double, _ decimals: Int = 0) -> String {
            let scale = [1.0, 10.0, 100.0, 1_000.0][min(decimals, 3)]
            let rounded = (value * scale).rounded() / scale
            return decimals == 0 ? String(Int(rounded)) : String(rounded)
        }
        var lines = [
            "tally bench ingest: run \(runID) against \(url)",
            "  \(connections) connections, batches of \(batchSize), duplicate ratio \(duplicateRatio), \(number(load.seconds, 1)) s",
            "  \(number(eventsPerSecond)) events/s, \(number(requestsPerSecond)) requests/s (\(load.eventsSent) events in \(load.requests) requests)",
            "  latency p50 \(number(load.latency(50), 2)) ms, p99 \(number(load.latency(99), 2)) ms, p99.9 \(number(load.latency(99.9), 2)) ms, max \(number(load.maxLatency, 2)) ms",
            "  accepted \(load.accepted), duplicate \(load.duplicates), rejected \(load.rejected) (sent \(load.newEvents) new, \(load.repeats) repeats)",
        ]
        if !load.failedResponses.isEmpty || load.connectionErrors > 0 || load.unacknowledged > 0 {
            let failures = load.failedResponses.sorted { $0.key < $1.key }.map { "HTTP \($0.key) ×\($0.value)" }.joined(separator: ", ")
            lines.append("  retried: \(failures.isEmpty ? "none" : failures); connection errors \(load.connectionErrors); unacknowledged events \(load.unacknowledged)")
        }
        let ledger = verification.ledgerRows.map { "ledger \($0) rows" } ?? "ledger not read"
        lines.append("  verification: \(verification.ok ? "ok" : "FAILED"): \(ledger), meter \(verification.meterTotal), expected \(verification.expectedEvents)")
        for problem in verification.problems { lines.append("    - \(problem)") }
        if let baseline, let ratio = baselineRatio {
            lines.append("  baseline: \(number(baseline.eventsPerSecond)) rows/s raw (\(baseline.method); \(baseline.events) rows, batches of \(baseline.batchSize))")
            lines.append("  ratio: ingest is \(number(ratio * 100, 1)) % of the raw rate")
        }
        if let plain, let ratio = plainRatio {
            lines.append("  plain Hummingbird GET, \(connections) connections: \(number(plain.requestsPerSecond)) req/s, p99 \(number(plain.p99Milliseconds, 2)) ms")
            lines.append("  requests/plain \(number(ratio, 3)) (the single-event floor, 15,000 where plain does ~48,000, is \(number(Self.floorPlainRatio, 3)))")
        }
        if let plainDurable, let ratio = plainDurableRatio {
            lines.append("  plain durable POST /v1/events, \(connections) connections: \(number(plainDurable.requestsPerSecond)) req/s, p99 \(number(plainDurable.p99Milliseconds, 2)) ms")
            let overPlain = durableOverPlain.map { ", itself \(number($0, 3)) of the plain GET" } ?? ""
            lines.append("  requests/plain durable \(number(ratio, 3))\(overPlain)")
        }
        return lines.joined(separator: "\n")
    }
}
