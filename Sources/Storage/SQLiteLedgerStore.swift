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

    public func meterCatalog(in scope: TenantScope) async throws -> MeterCatalog {
        try await Self.catalog(scope.tenantID) { sql, binds in try await database.read(sql, binds) }
    }

    static let metersSQL = "SELECT slug, event_type, aggregation, value_path, group_by FROM meters WHERE tenant_id = ? ORDER BY slug"

    static func meter(_ row: SQLiteRow) throws -> MeterDefinition {
        guard let aggregation = Aggregation(rawValue: try row.text("aggregation")) else { throw StorageDecodingError(column: "aggregation") }
        return MeterDefinition(
            slug: try row.text("slug"), eventType: try row.text("event_type"), aggregation: aggregation,
            valuePath: row.optionalText("value_path"), groupBy: try StoredGroupBy.decode(try row.text("group_by"))
        )
    }

    static func catalog(_ tenant: TenantID, on db: SQLiteConnection) async throws -> MeterCatalog {
        try await catalog(tenant) { sql, binds in try await db.query(sql, binds) }
    }

    /// The catalog through `query` (the reader, or the writer inside a transaction). The version
    /// is read before the meters, as on PostgreSQL: a change in between looks stale, never newer.
    static func catalog(_ tenant: TenantID, query: (String, [SQLiteData]) async throws -> [SQLiteRow]) async throws -> MeterCatalog {
        let version = try await query("SELECT meter_catalog_version FROM tenants WHERE id = ?", [.text(tenant.rawValue)])
            .first.map { Int64(try $0.int("meter_catalog_version")) } ?? 0
        return MeterCatalog(version: version, meters: try await query(metersSQL, [.text(tenant.rawValue)]).map(meter))
    }

    public func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog {
        do {
            return try await changeMeter(meter, in: scope) { db in
                _ = try await db.query(
                    """
                    INSERT INTO meters (tenant_id, slug, event_type, aggregation, value_path, group_by, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [.text(scope.tenantID.rawValue), .text(meter.slug), .text(meter.eventType), .text(meter.aggregation.rawValue),
                     meter.valuePath.map { .text($0) } ?? .null, .text(StoredGroupBy.encode(meter.groupBy)), Optional(at).sqliteData, Optional(at).sqliteData]
                )
            }
        } catch let error as SQLiteError where error.reason == .constraintPrimaryKeyFailed || error.reason == .constraintUniqueFailed {
            throw TallyError(.conflict, "a meter with slug '\(meter.slug)' already exists", field: "slug")
        }
    }

    public func updateMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog {
        try await changeMeter(meter, in: scope) { db in
            let rows = try await db.query(
                """
                UPDATE meters SET event_type = ?, aggregation = ?, value_path = ?, group_by = ?, updated_at = ?
                WHERE tenant_id = ? AND slug = ? RETURNING slug
                """,
                [.text(meter.eventType), .text(meter.aggregation.rawValue), meter.valuePath.map { .text($0) } ?? .null,
                 .text(StoredGroupBy.encode(meter.groupBy)), Optional(at).sqliteData, .text(scope.tenantID.rawValue), .text(meter.slug)]
            )
            guard !rows.isEmpty else { throw TallyError.notFound("meter") }
        }
    }

    /// Bumps the catalog version, writes the meter and recomputes it from every booked event of its type.
    private func changeMeter(_ meter: MeterDefinition, in scope: TenantScope, write: (SQLiteConnection) async throws -> Void) async throws -> MeterCatalog {
        let tenant = scope.tenantID
        return try await database.transaction { db in
            let bumped = try await db.query(
                "UPDATE tenants SET meter_catalog_version = meter_catalog_version + 1 WHERE id = ? RETURNING id", [.text(tenant.rawValue)]
            )
            guard !bumped.isEmpty else { throw TallyError.notFound("tenant") }
            try await write(db)
            let catalog = try await Self.catalog(tenant, on: db)
            _ = try await db.query("DELETE FROM meter_rollups WHERE tenant_id = ? AND meter = ?", [.text(tenant.rawValue), .text(meter.slug)])
            _ = try await db.query("DELETE FROM meter_distinct_values WHERE tenant_id = ? AND meter = ?", [.text(tenant.rawValue), .text(meter.slug)])
            let events = try await Self.effectiveEvents(tenant, type: meter.eventType, from: .min, to: .max, on: db)
            let only = MeterCatalog(version: catalog.version, meters: [meter])
            try await Self.write(RollupBatch.recomputed(tenantID: tenant, catalog: only, events: events), on: db)
            return catalog
        }
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        var outcomes = [AppendOutcome](repeating: .duplicate, count: entries.count)
        let firsts = RollupBatch.firstOccurrences(entries)
        guard !firsts.isEmpty else { return outcomes }
        let tenantIDs = Array(Set(entries.map(\.tenantID.rawValue))).sorted()
        let inserted = try await database.transaction { db -> [Int] in
            var current: [TenantID: Int64] = [:]
            for row in try await db.query(
                "SELECT id, meter_catalog_version FROM tenants WHERE id IN (\(Self.placeholders(tenantIDs.count)))",
                tenantIDs.map { .text($0) }
            ) {
                current[TenantID(trusted: try row.text("id"))] = Int64(try row.int("meter_catalog_version"))
            }
            try LedgerRules.checkCatalogs(entries, current: current)
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
            try await Self.write(RollupBatch.deltas(of: inserted.map { entries[$0] }), on: db)
            return inserted
        }
        for index in inserted { outcomes[index] = .accepted }
        return outcomes
    }

    public func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]? {
        var stored = Set<Int>()
        for index in RollupBatch.firstOccurrences(entries) {
            let entry = entries[index]
            let rows = try await database.read(
                "SELECT 1 FROM usage_events WHERE tenant_id = ? AND source = ? AND event_id = ? AND received_at = ?",
                [.text(entry.tenantID.rawValue), .text(entry.event.source), .text(entry.event.id), .integer(Int(entry.receivedAt))]
            )
            if !rows.isEmpty { stored.insert(index) }
        }
        return RollupBatch.outcomesOfFailedAppend(entries, stored: stored)
    }

    public func meterTotals(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> (count: Int64, sum: Quantity) {
        // Sums are exact decimal text: SQLite's sum() would add them as doubles, so they add here.
        var count: Int64 = 0
        var sum = Quantity.zero
        for row in try await database.read(
            "SELECT count, sum FROM meter_rollups WHERE tenant_id = ? AND meter = ? AND window_start >= ? AND window_start < ?",
            [.text(scope.tenantID.rawValue), .text(meter), .integer(Int(fromWindow)), .integer(Int(toWindow))]
        ) {
            count += Int64(try row.int("count"))
            guard let value = Quantity(stored: try row.text("sum")) else { throw StorageDecodingError(column: "sum") }
            sum += value
        }
        return (count, sum)
    }

    public func meters(of scopes: [TenantScope]) async throws -> [TenantID: [MeterDefinition]] {
        var out: [TenantID: [MeterDefinition]] = [:]
        for chunk in Self.chunks(scopes) {
            let rows = try await database.read(
                "SELECT tenant_id, slug, event_type, aggregation, value_path, group_by FROM meters WHERE tenant_id IN (\(Self.placeholders(chunk.count))) ORDER BY tenant_id, slug",
                chunk.map { .text($0.tenantID.rawValue) }
            )
            for row in rows {
                guard let id = TenantID(try row.text("tenant_id")) else { throw StorageDecodingError(column: "tenant_id") }
                out[id, default: []].append(try Self.meter(row))
            }
        }
        return out
    }

    public func meterTotals(of scopes: [TenantScope], meters: [String], fromWindow: Int64, toWindow: Int64) async throws -> [TenantID: [String: (count: Int64, sum: Quantity)]] {
        var out: [TenantID: [String: (count: Int64, sum: Quantity)]] = [:]
        guard !meters.isEmpty else { return out }
        // Sums are exact decimal text: SQLite's sum() would add them as doubles, so they add here.
        for chunk in Self.chunks(scopes) {
            let rows = try await database.read(
                """
                SELECT tenant_id, meter, count, sum FROM meter_rollups
                WHERE tenant_id IN (\(Self.placeholders(chunk.count))) AND meter IN (\(Self.placeholders(meters.count))) AND window_start >= ? AND window_start < ?
                """,
                chunk.map { .text($0.tenantID.rawValue) } + meters.map { .text($0) } + [.integer(Int(fromWindow)), .integer(Int(toWindow))]
            )
            for row in rows {
                guard let id = TenantID(try row.text("tenant_id")), let value = Quantity(stored: try row.text("sum")) else { throw StorageDecodingError(column: "meter_rollups") }
                let meter = try row.text("meter")
                let current = out[id]?[meter] ?? (0, .zero)
                out[id, default: [:]][meter] = (current.count + Int64(try row.int("count")), current.sum + value)
            }
        }
        return out
    }

    /// Lists of at most 400 (SQLite's bound-parameter limit is well above).
    static func chunks(_ scopes: [TenantScope]) -> [ArraySlice<TenantScope>] {
        stride(from: 0, to: scopes.count, by: 400).map { scopes[$0..<min(scopes.count, $0 + 400)] }
    }

    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

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

    /// Merges rollup deltas into the stored rows (exact decimal addition in Swift) and adds distinct values.
    static func write(_ deltas: (states: [RollupKey: MeterState], distinct: Set<DistinctValue>), on db: SQLiteConnection) async throws {
        for (key, delta) in deltas.states {
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
        for item in deltas.distinct {
            _ = try await db.query(
                "INSERT INTO meter_distinct_values (tenant_id, meter, window_start, group_key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(item.key.tenantID.rawValue), .text(item.key.meter), .integer(Int(item.key.windowStart)), .text(item.key.groupKey), .text(item.value)]
            )
        }
    }

    public func countEvents(in scope: TenantScope, source: String) async throws -> Int {
        try await database.read(
            "SELECT count(*) AS n FROM usage_events WHERE tenant_id = ? AND source = ?", [.text(scope.tenantID.rawValue), .text(source)]
        ).first.map { try $0.int("n") } ?? 0
    }

    public func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent] {
        try await Self.effectiveEvents(scope.tenantID, type: type, from: from, to: to, reader: database)
    }

    static let effectiveEventsSQL = """
        SELECT e.source, e.event_id, e.subject, e.event_time, e.data, c.kind, c.subject AS amended_subject, c.data AS amended_data
        FROM usage_events e
        LEFT JOIN event_corrections c ON c.tenant_id = e.tenant_id AND c.source = e.source AND c.event_id = e.event_id
            AND c.seq = (SELECT MAX(seq) FROM event_corrections m WHERE m.tenant_id = e.tenant_id AND m.source = e.source AND m.event_id = e.event_id)
        WHERE e.tenant_id = ? AND e.type = ? AND e.event_time >= ? AND e.event_time < ?
        ORDER BY e.event_time, e.source, e.event_id
        """

    static func effectiveEvents(_ tenant: TenantID, type: String, from: Int64, to: Int64, on db: SQLiteConnection) async throws -> [UsageEvent] {
        try effective(try await db.query(effectiveEventsSQL, [.text(tenant.rawValue), .text(type), .integer(Int(from)), .integer(Int(to))]), type: type)
    }

    static func effectiveEvents(_ tenant: TenantID, type: String, from: Int64, to: Int64, reader: SQLiteDatabaseFile) async throws -> [UsageEvent] {
        try effective(try await reader.read(effectiveEventsSQL, [.text(tenant.rawValue), .text(type), .integer(Int(from)), .integer(Int(to))]), type: type)
    }

    private static func effective(_ rows: [SQLiteRow], type: String) throws -> [UsageEvent] {
        try rows.compactMap { row in
            try StoredEvent.effective(
                id: try row.text("event_id"), source: try row.text("source"), type: type, subject: row.optionalText("subject"),
                time: Int64(try row.int("event_time")), data: try row.text("data"), correction: row.optionalText("kind"),
                amendedSubject: row.optionalText("amended_subject"), amendedData: row.optionalText("amended_data")
            )
        }
    }

    public func history(source: String, eventID: String, in scope: TenantScope) async throws -> EventHistory? {
        let binds: [SQLiteData] = [.text(scope.tenantID.rawValue), .text(source), .text(eventID)]
        return try Self.history(
            source: source, eventID: eventID,
            event: try await database.read(Self.historyEventSQL, binds), corrections: try await database.read(Self.historyCorrectionsSQL, binds)
        )
    }

    static let historyEventSQL = "SELECT type, subject, event_time, received_at, data FROM usage_events WHERE tenant_id = ? AND source = ? AND event_id = ?"
    static let historyCorrectionsSQL = """
        SELECT seq, kind, subject, data, reason, created_at FROM event_corrections WHERE tenant_id = ? AND source = ? AND event_id = ? ORDER BY seq
        """

    static func history(source: String, eventID: String, event rows: [SQLiteRow], corrections: [SQLiteRow]) throws -> EventHistory? {
        guard let row = rows.first else { return nil }
        let event = UsageEvent(
            id: eventID, source: source, type: try row.text("type"), subject: row.optionalText("subject"),
            time: Int64(try row.int("event_time")), data: try StoredJSON.decodeObject(try row.text("data"))
        )
        return EventHistory(event: event, receivedAt: Int64(try row.int("received_at")), corrections: try corrections.map { row in
            guard let kind = EventCorrection.Kind(rawValue: try row.text("kind")) else { throw StorageDecodingError(column: "kind") }
            return EventCorrection(
                sequence: try row.int("seq"), kind: kind, subject: row.optionalText("subject"),
                data: try row.optionalText("data").map(StoredJSON.decodeObject), reason: row.optionalText("reason"), createdAt: Int64(try row.int("created_at"))
            )
        })
    }

    public func correct(
        source: String, eventID: String, _ request: CorrectionRequest, in scope: TenantScope, policy: EventTimePolicy, now: Int64
    ) async throws -> EventHistory {
        let tenant = scope.tenantID
        return try await database.transaction { db in
            let binds: [SQLiteData] = [.text(tenant.rawValue), .text(source), .text(eventID)]
            guard var history = try Self.history(
                source: source, eventID: eventID,
                event: try await db.query(Self.historyEventSQL, binds), corrections: try await db.query(Self.historyCorrectionsSQL, binds)
            ) else { throw TallyError.notFound("event") }
            let catalog = try await Self.catalog(tenant, on: db)
            let correction = try LedgerRules.next(request, history: history, catalog: catalog, policy: policy, now: now)
            _ = try await db.query(
                "INSERT INTO event_corrections (tenant_id, source, event_id, seq, kind, subject, data, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                binds + [
                    .integer(correction.sequence), .text(correction.kind.rawValue), correction.subject.map { .text($0) } ?? .null,
                    try correction.data.map { .text(try StoredJSON.encode($0)) } ?? .null, correction.reason.map { .text($0) } ?? .null,
                    .integer(Int(correction.createdAt)),
                ]
            )
            history.corrections.append(correction)
            let type = history.event.type
            let meters = catalog.meters.filter { $0.eventType == type }
            if !meters.isEmpty {
                let window = RollupBatch.window(of: history.event.time)
                for meter in meters {
                    for table in ["meter_rollups", "meter_distinct_values"] {
                        _ = try await db.query(
                            "DELETE FROM \(table) WHERE tenant_id = ? AND meter = ? AND window_start = ?", [.text(tenant.rawValue), .text(meter.slug), .integer(Int(window))]
                        )
                    }
                }
                let events = try await Self.effectiveEvents(tenant, type: type, from: window * 1_000_000, to: (window + 60) * 1_000_000, on: db)
                try await Self.write(RollupBatch.recomputed(tenantID: tenant, catalog: MeterCatalog(version: catalog.version, meters: meters), events: events), on: db)
            }
            return history
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
