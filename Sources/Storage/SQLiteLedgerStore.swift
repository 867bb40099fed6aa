import Core
import Metering
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded ledger: events, meters and rollups in the SQLite file. All of its SQL lives here.
public final class SQLiteLedgerStore: LedgerStore {
    public let database: SQLiteDatabaseFile
    /// Events per multi-row INSERT (8 parameters each, well under SQLite's 32766).
    static let chunkSize = 500

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    public func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO meters (tenant_id, slug, event_type, aggregation, value_path, group_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(scope.tenantID.rawValue), .text(meter.slug), .text(meter.eventType), .text(meter.aggregation.rawValue),
                     meter.valuePath.map { .text($0) } ?? .null, .text(StoredGroupBy.encode(meter.groupBy)), Optional(at).sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintPrimaryKeyFailed || error.reason == .constraintUniqueFailed {
            throw TallyError(.conflict, "a meter with slug '\(meter.slug)' already exists", field: "slug")
        }
    }

    public func meters(in scope: TenantScope) async throws -> [MeterDefinition] {
        try await database.read(
            "SELECT slug, event_type, aggregation, value_path, group_by FROM meters WHERE tenant_id = ? ORDER BY slug",
            [.text(scope.tenantID.rawValue)]
        ).map { row in
            guard let aggregation = Aggregation(rawValue: try row.text("aggregation")) else { throw StorageDecodingError(column: "aggregation") }
            return MeterDefinition(
                slug: try row.text("slug"), eventType: try row.text("event_type"), aggregation: aggregation,
                valuePath: row.optionalText("value_path"), groupBy: try StoredGroupBy.decode(try row.text("group_by"))
            )
        }
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        var outcomes = [AppendOutcome](repeating: .duplicate, count: entries.count)
        let firsts = RollupBatch.firstOccurrences(entries)
        guard !firsts.isEmpty else { return outcomes }
        let inserted = try await database.transaction { db -> [Int] in
            var inserted: [Int] = []
            for start in stride(from: 0, to: firsts.count, by: Self.chunkSize) {
                let chunk = firsts[start..<min(start + Self.chunkSize, firsts.count)]
                var binds: [SQLiteData] = []
                binds.reserveCapacity(chunk.count * 8)
                for index in chunk {
                    let entry = entries[index]
                    binds += [
                        .text(entry.tenantID.rawValue), .text(entry.event.source), .text(entry.event.id), .text(entry.event.type),
                        entry.event.subject.map { .text($0) } ?? .null, .integer(Int(entry.event.time)), .integer(Int(entry.receivedAt)),
                        .text(try StoredJSON.encode(entry.event.data)),
                    ]
                }
                let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
                let rows = try await db.query(
                    """
                    INSERT INTO usage_events (tenant_id, source, event_id, type, subject, event_time, received_at, data)
                    VALUES \(placeholders) ON CONFLICT DO NOTHING RETURNING tenant_id, source, event_id
                    """,
                    binds
                )
                let booked = Set(try rows.map { DedupKey(tenantID: TenantID(trusted: try $0.text("tenant_id")), source: try $0.text("source"), eventID: try $0.text("event_id")) })
                inserted += chunk.filter { booked.contains(entries[$0].dedupKey) }
            }
            let (states, distinct) = RollupBatch.deltas(of: inserted.map { entries[$0] })
            for (key, delta) in states {
                let keyBinds: [SQLiteData] = [.text(key.tenantID.rawValue), .text(key.meter), .integer(Int(key.windowStart)), .text(key.groupKey)]
                var merged = try await db.query(
                    """
                    SELECT count, sum, min, max, latest_time, latest_event_id, latest_value FROM meter_rollups
                    WHERE tenant_id = ? AND meter = ? AND window_start = ? AND group_key = ?
                    """,
                    keyBinds
                ).first.map(Self.state) ?? MeterState()
                guard merged.merge(delta) else { throw TallyError(.meterOverflow, "meter '\(key.meter)' total is out of range") }
                _ = try await db.query(
                    """
                    INSERT INTO meter_rollups (tenant_id, meter, window_start, group_key, count, sum, min, max, latest_time, latest_event_id, latest_value)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (tenant_id, meter, window_start, group_key) DO UPDATE SET
                        count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
                        latest_time = excluded.latest_time, latest_event_id = excluded.latest_event_id, latest_value = excluded.latest_value
                    """,
                    keyBinds + [
                        .integer(Int(merged.count)), .text(merged.sum.description), merged.min.map { .text($0.description) } ?? .null,
                        merged.max.map { .text($0.description) } ?? .null, merged.latest.map { .integer(Int($0.time)) } ?? .null,
                        merged.latest.map { .text($0.eventID) } ?? .null, merged.latest.map { .text($0.value.description) } ?? .null,
                    ]
                )
            }
            for item in distinct {
                _ = try await db.query(
                    "INSERT INTO meter_distinct_values (tenant_id, meter, window_start, group_key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [.text(item.key.tenantID.rawValue), .text(item.key.meter), .integer(Int(item.key.windowStart)), .text(item.key.groupKey), .text(item.value)]
                )
            }
            return inserted
        }
        for index in inserted { outcomes[index] = .accepted }
        return outcomes
    }

    public func rollups(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [RollupRow] {
        try await database.read(
            """
            SELECT window_start, group_key, count, sum, min, max, latest_time, latest_event_id, latest_value FROM meter_rollups
            WHERE tenant_id = ? AND meter = ? AND window_start >= ? AND window_start < ? ORDER BY window_start, group_key
            """,
            [.text(scope.tenantID.rawValue), .text(meter), .integer(Int(fromWindow)), .integer(Int(toWindow))]
        ).map { row in
            RollupRow(windowStart: Int64(try row.int("window_start")), groupKey: try row.text("group_key"), state: try Self.state(row))
        }
    }

    public func distinctValues(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [DistinctValue] {
        try await database.read(
            """
            SELECT window_start, group_key, value FROM meter_distinct_values
            WHERE tenant_id = ? AND meter = ? AND window_start >= ? AND window_start < ? ORDER BY window_start, group_key, value
            """,
            [.text(scope.tenantID.rawValue), .text(meter), .integer(Int(fromWindow)), .integer(Int(toWindow))]
        ).map { row in
            DistinctValue(
                key: RollupKey(tenantID: scope.tenantID, meter: meter, windowStart: Int64(try row.int("window_start")), groupKey: try row.text("group_key")),
                value: try row.text("value")
            )
        }
    }

    public func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent] {
        try await database.read(
            """
            SELECT source, event_id, type, subject, event_time, data FROM usage_events
            WHERE tenant_id = ? AND type = ? AND event_time >= ? AND event_time < ? ORDER BY event_time, source, event_id
            """,
            [.text(scope.tenantID.rawValue), .text(type), .integer(Int(from)), .integer(Int(to))]
        ).map { row in
            UsageEvent(
                id: try row.text("event_id"), source: try row.text("source"), type: try row.text("type"), subject: row.optionalText("subject"),
                time: Int64(try row.int("event_time")), data: try StoredJSON.decodeObject(try row.text("data"))
            )
        }
    }

    static func state(_ row: SQLiteRow) throws -> MeterState {
        func quantity(_ column: String) throws -> Quantity? {
            guard let text = row.optionalText(column) else { return nil }
            guard let value = Quantity(stored: text) else { throw StorageDecodingError(column: column) }
            return value
        }
        var state = MeterState()
        state.count = Int64(try row.int("count"))
        state.sum = try quantity("sum") ?? .zero
        state.min = try quantity("min")
        state.max = try quantity("max")
        if let time = row.column("latest_time")?.integer, let id = row.optionalText("latest_event_id"), let value = try quantity("latest_value") {
            state.latest = MeterState.Latest(time: Int64(time), eventID: id, value: value)
        }
        return state
    }
}
