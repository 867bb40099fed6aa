import Core
import Histogram
import Metering
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally bench ingest`: drives a running server over HTTP with N keep-alive connections, each
/// sending batches one after another, and measures what the server acknowledges.
///
/// A batch that fails (a non-200 answer or a broken connection) is sent again, unchanged, up to
/// `maxAttempts` times, as a client that must not lose usage would; the ledger then still holds
/// every event exactly once, which `IngestBenchReport.Verification` checks afterwards.
public struct IngestBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// A tenant key with events:write, meters:write and usage:read.
        public var token: String
        public var connections: Int
        public var batchSize: Int
        public var duplicateRatio: Double
        public var duration: Duration
        /// Stop after this many events, if sooner than `duration`.
        public var maxEvents: Int?
        public var runID: String
        public var seed: UInt64

        public init(
            host: String, port: Int, token: String, connections: Int, batchSize: Int, duplicateRatio: Double, duration: Duration,
            maxEvents: Int? = nil, runID: String, seed: UInt64 = 1
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.connections = connections
            self.batchSize = batchSize
            self.duplicateRatio = duplicateRatio
            self.duration = duration
            self.maxEvents = maxEvents
            self.runID = runID
            self.seed = seed
        }
    }

    public let configuration: Configuration
    public var source: BenchEventSource {
        BenchEventSource(runID: configuration.runID, batchSize: configuration.batchSize, duplicateRatio: configuration.duplicateRatio)
    }
    /// The COUNT meter the run defines over its own events.
    public var meterSlug: String { "bench-\(configuration.runID)" }
    static let maxAttempts = 5

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Defines the run's COUNT meter.
    public func prepare() async throws {
        let body = #"{"slug":"\#(meterSlug)","event_type":"\#(source.eventType)","aggregation":"COUNT"}"#
        let reply = try await request(.POST, "/v1/meters", body: body)
        guard reply.status == 201 else { throw BenchError("could not define the run's meter: HTTP \(reply.status) \(String(buffer: reply.body))") }
    }

    /// Sends load until the duration (or event budget) is spent, and waits for every batch sent.
    public func load() async throws -> IngestBenchReport.Load {
        let budget = EventBudget(configuration.maxEvents ?? .max)
        let started = ContinuousClock.now
        let deadline = started + configuration.duration
        let stats = try await withThrowingTaskGroup(of: WorkerStats.self) { group in
            for worker in 0..<configuration.connections {
                group.addTask { try await self.worker(worker, deadline: deadline, budget: budget) }
            }
            var total = WorkerStats()
            for try await stats in group { total.merge(stats) }
            return total
        }
        let elapsed = (ContinuousClock.now - started).totalSeconds
        return IngestBenchReport.Load(stats: stats, seconds: elapsed, startedAt: Date().addingTimeInterval(-elapsed))
    }

    /// Single events posted to a `tally bench plain-server --database-url` (its durable
    /// `POST /v1/events`) on as many connections, for as long, as this run's: the baseline of what
    /// a durable, deduplicated acknowledgement costs on this machine without anything of Tally's.
    /// Nil if the plain server does not serve that route (it was started without a database).
    public static func plainDurable(
        host: String, port: Int, connections: Int, duration: Duration, runID: String
    ) async throws -> IngestBenchReport.Load? {
        let bench = IngestBenchmark(Configuration(
            host: host, port: port, token: "plain", connections: connections, batchSize: 1, duplicateRatio: 0, duration: duration,
            runID: "plain-\(runID)"
        ))
        let probe = #"{"specversion":"1.0","id":"probe-\#(runID)","source":"bench","type":"plain","time":"2026-01-01T00:00:00Z"}"#
        guard try await bench.request(.POST, "/v1/events", body: probe).status == 200 else { return nil }
        return try await bench.load()
    }

    /// The run's meter total over its events (every event counts 1), read through the API.
    public func meterTotal(from: Date, to: Date) async throws -> Int {
        let range = "from=\(RFC3339.format(microseconds: Int64(from.timeIntervalSince1970) * 1_000_000))&to=\(RFC3339.format(microseconds: Int64(to.timeIntervalSince1970) * 1_000_000))"
        let reply = try await request(.GET, "/v1/meters/\(meterSlug)/query?\(range)&window=day&group_by=")
        guard reply.status == 200 else { throw BenchError("could not read the run's meter: HTTP \(reply.status) \(String(buffer: reply.body))") }
        struct Answer: Decodable { struct Point: Decodable { let value: String }; let data: [Point] }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(buffer: reply.body))
        return answer.data.reduce(0) { $0 + (Int($1.value) ?? 0) }
    }

    /// The tenant the token belongs to.
    public func tenantID() async throws -> TenantID {
        let reply = try await request(.GET, "/v1/me")
        struct Me: Decodable { let tenant_id: String? }
        guard reply.status == 200, let text = try JSONDecoder().decode(Me.self, from: Data(buffer: reply.body)).tenant_id, let id = TenantID(text) else {
            throw BenchError("the token must be a tenant key (GET /v1/me answered HTTP \(reply.status))")
        }
        return id
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> HTTPLoadConnection.Reply {
        try await HTTPLoadConnection.with(host: configuration.host, port: configuration.port) { session in
            try await session.send(
                method, path, headers: [("Authorization", "Bearer \(configuration.token)"), ("Content-Type", "application/json")],
                body: body.map { ByteBuffer(string: $0) }
            )
        }
    }

    /// One connection's share of the load, driven by a `LoadConnectionHandler` on its event
    /// loop; a broken connection is replaced and its batch in flight sent again.
    private func worker(_ index: Int, deadline: ContinuousClock.Instant, budget: EventBudget) async throws -> WorkerStats {
        var total = WorkerStats()
        var cursor = BenchEventSource.Cursor(worker: index, seed: configuration.seed)
        var pending: LoadConnectionHandler.PendingBatch?
        var failures = 0
        while true {
            let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
            let promise = eventLoop.makePromise(of: LoadConnectionHandler.Outcome.self)
            let (source, host, token) = (self.source, configuration.host, configuration.token)
            let (startCursor, startPending) = (cursor, pending)
            do {
                let channel = try await ClientBootstrap(group: eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseReader()))
                            try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(
                                source: source, cursor: startCursor, host: host, token: token, deadline: deadline, budget: budget,
                                pending: startPending, promise: promise
                            ))
                        }
                    }
                    .connect(host: host, port: configuration.port).get()
                let outcome = try await promise.futureResult.get()
                try? await channel.close().get()
                total.merge(outcome.stats)
                cursor = outcome.cursor
                pending = outcome.pending
                guard let error = outcome.error else { return total }
                total.connectionErrors += 1
                failures += 1
                if var current = pending {
                    current.attempts += 1
                    if current.attempts >= Self.maxAttempts {
                        total.unacknowledged += current.batch.newEvents
                        pending = nil
                    } else {
                        pending = current
                    }
                }
                guard failures < Self.maxAttempts * 4 else { throw BenchError("connection \(index) kept failing: \(error)") }
            } catch let error as BenchError {
                throw error
            } catch {
                promise.fail(error)
                total.connectionErrors += 1
                failures += 1
                guard failures < Self.maxAttempts * 4 else { throw BenchError("connection \(index) could not connect: \(error)") }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Events left to send, shared by the workers.
final class EventBudget: Sendable {
    private let remaining: Atomic<Int>
    init(_ events: Int) { remaining = Atomic(events) }
    /// Takes `count` events if that many are left.
    func take(_ count: Int) -> Bool { remaining.subtract(count, ordering: .relaxed).oldValue >= count }
}

/// What one connection saw.
struct WorkerStats: Sendable {
    var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    var requests = 0
    var eventsSent = 0
    var newEvents = 0
    var repeats = 0
    var counts = IngestReplyCounts(accepted: 0, duplicates: 0, rejected: 0)
    /// Batches acknowledged only after a retry (their first attempt may have been booked).
    var retriedBatches = 0
    var failedResponses: [Int: Int] = [:]
    var connectionErrors = 0
    /// New events of batches given up on: booked or not, the client cannot know.
    var unacknowledged = 0

    mutating func record(latencyMicros: Int64, batch: BenchEventSource.Batch, counts: IngestReplyCounts, retried: Bool) {
        _ = latency.record(UInt64(max(0, latencyMicros)))
        requests += 1
        eventsSent += batch.newEvents + batch.repeats
        newEvents += batch.newEvents
        repeats += batch.repeats
        self.counts.accepted += counts.accepted
        self.counts.duplicates += counts.duplicates
        self.counts.rejected += counts.rejected
        if retried { retriedBatches += 1 }
    }

    mutating func merge(_ other: WorkerStats) {
        latency.add(other.latency)
        requests += other.requests
        eventsSent += other.eventsSent
        newEvents += other.newEvents
        repeats += other.repeats
        counts.accepted += other.counts.accepted
        counts.duplicates += other.counts.duplicates
        counts.rejected += other.counts.rejected
        retriedBatches += other.retriedBatches
        failedResponses.merge(other.failedResponses, uniquingKeysWith: +)
        connectionErrors += other.connectionErrors
        unacknowledged += other.unacknowledged
    }
}

public struct BenchError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
