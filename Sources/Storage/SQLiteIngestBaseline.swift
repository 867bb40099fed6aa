import Core
import SQLiteNIO

/// The raw dedup insert rate on SQLite: multi-row `INSERT … ON CONFLICT DO NOTHING` into a
/// scratch copy of `usage_events` (same primary key and index), one durable write transaction
/// per batch, through the same serialized writer connection Tally uses.
public struct SQLiteIngestBaseline: IngestBaseline {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    public var method: String { "sqlite: multi-row INSERT … ON CONFLICT DO NOTHING, one transaction per batch" }

    public func aggregate(type: String, field: String, from: Int64, to: Int64) async throws -> [String: (count: Int64, sum: String)] {
        let rows = try await database.read(
            """
            SELECT tenant_id, count(*) AS n, CAST(total(json_extract(data, '$.' || ?)) AS TEXT) AS s FROM usage_events
            WHERE type = ? AND event_time >= ? AND event_time < ? GROUP BY tenant_id
            """,
            [.text(field), .text(type), .integer(Int(from)), .integer(Int(to))]
        )
        var out: [String: (count: Int64, sum: String)] = [:]
        for row in rows { out[try row.text("tenant_id")] = (Int64(try row.int("n")), try row.text("s")) }
        return out
    }

    public func run(events: Int, batchSize: Int) async throws -> IngestBaselineResult {
        try await database.transaction { db in
            _ = try await db.query("DROP TABLE IF EXISTS bench_raw_events")
            _ = try await db.query(
                """
                CREATE TABLE bench_raw_events (
                    tenant_id TEXT NOT NULL, source TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, subject TEXT,
                    event_time INTEGER NOT NULL, received_at INTEGER NOT NULL, data TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, source, event_id)
                ) STRICT, WITHOUT ROWID
                """
            )
            _ = try await db.query("CREATE INDEX bench_raw_events_by_time ON bench_raw_events (tenant_id, type, event_time)")
        }
        let chunk = SQLiteLedgerStore.chunkSize
        let now = 1_795_860_000_000_000
        let start = ContinuousClock.now
        var offset = 0
        while offset < events {
            let count = min(batchSize, events - offset)
            try await database.transaction { db in
                for chunkStart in stride(from: offset, to: offset + count, by: chunk) {
                    let chunkEnd = min(chunkStart + chunk, offset + count)
                    var binds: [SQLiteData] = []
                    binds.reserveCapacity((chunkEnd - chunkStart) * 8)
                    for index in chunkStart..<chunkEnd {
                        binds += [
                            .text(BaselineRows.tenant), .text(BaselineRows.source), .text(BaselineRows.id(index)), .text(BaselineRows.type), .null,
                            .integer(now), .integer(now), .text(BaselineRows.data),
                        ]
                    }
                    let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: chunkEnd - chunkStart).joined(separator: ", ")
                    _ = try await db.query("INSERT INTO bench_raw_events VALUES \(placeholders) ON CONFLICT DO NOTHING", binds)
                }
            }
            offset += count
        }
        let elapsed = ContinuousClock.now - start
        let booked = try await database.read("SELECT count(*) AS n FROM bench_raw_events").first.map { try $0.int("n") } ?? 0
        try await database.transaction { db in _ = try await db.query("DROP TABLE bench_raw_events") }
        return IngestBaselineResult(method: method, events: events, batchSize: batchSize, rowsBooked: booked, seconds: elapsed.totalSeconds)
    }
}
