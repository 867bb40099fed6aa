import Core
import Logging
import NIOCore
import PostgresNIO

/// The raw dedup COPY rate on PostgreSQL: per batch, `COPY` into a temporary staging table,
/// then `INSERT … SELECT … ON CONFLICT DO NOTHING` into a scratch copy of `usage_events` (same
/// primary key and index), committed durably.
public struct PostgresIngestBaseline: IngestBaseline {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public var method: String { "postgres: COPY into staging + INSERT … ON CONFLICT DO NOTHING, one transaction per batch" }

    static let columns = ["tenant_id", "source", "event_id", "type", "subject", "event_time", "received_at", "data"]

    public func aggregate(type: String, field: String, from: Int64, to: Int64) async throws -> [String: (count: Int64, sum: String)] {
        let rows = try await client.query(
            """
            SELECT tenant_id, count(*)::int8, COALESCE(sum((data ->> \(field))::numeric), 0)::text FROM usage_events
            WHERE type = \(type) AND event_time >= \(from) AND event_time < \(to) GROUP BY tenant_id
            """,
            logger: logger
        ).collect()
        var out: [String: (count: Int64, sum: String)] = [:]
        for row in rows {
            let (tenant, count, sum) = try row.decode((String, Int64, String).self)
            out[tenant] = (count, sum)
        }
        return out
    }

    public func run(events: Int, batchSize: Int) async throws -> IngestBaselineResult {
        let logger = self.logger
        try await client.query("DROP TABLE IF EXISTS bench_raw_events", logger: logger)
        try await client.query("CREATE TABLE bench_raw_events (LIKE usage_events INCLUDING ALL)", logger: logger)
        let start = ContinuousClock.now
        try await client.withConnection { connection in
            try await connection.query("CREATE TEMPORARY TABLE bench_raw_stage (LIKE usage_events) ON COMMIT DELETE ROWS", logger: logger)
            var offset = 0
            let now = Int64(1_795_860_000_000_000)
            while offset < events {
                let count = min(batchSize, events - offset)
                var buffer = ByteBuffer()
                buffer.reserveCapacity(count * 120)
                for index in offset..<(offset + count) {
                    buffer.writeString("\(BaselineRows.tenant)\t\(BaselineRows.source)\t\(BaselineRows.id(index))\t\(BaselineRows.type)\t\\N\t\(now)\t\(now)\t\(BaselineRows.data)\n")
                }
                try await connection.query("BEGIN", logger: logger)
                do {
                    try await connection.copyFrom(table: "bench_raw_stage", columns: Self.columns, logger: logger) { writer in
                        try await writer.write(buffer)
                    }
                    try await connection.query("INSERT INTO bench_raw_events SELECT * FROM bench_raw_stage ON CONFLICT DO NOTHING", logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                offset += count
            }
            try await connection.query("DROP TABLE bench_raw_stage", logger: logger)
        }
        let elapsed = ContinuousClock.now - start
        let booked = try await client.query("SELECT count(*) FROM bench_raw_events", logger: logger).collect().first?.decode(Int.self) ?? 0
        try await client.query("DROP TABLE bench_raw_events", logger: logger)
        return IngestBaselineResult(method: method, events: events, batchSize: batchSize, rowsBooked: booked, seconds: elapsed.totalSeconds)
    }
}
