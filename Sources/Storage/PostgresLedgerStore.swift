import Core
import Logging
import Metering
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The production ledger on PostgreSQL. All of its SQL lives here.
///
/// A batch is one prepared statement (`PostgresAppendStatement`: one round trip, one
/// transaction, planned once per connection).
public final class PostgresLedgerStore: LedgerStore {
    public let client: PostgresClient
    let logger: Logger
    /// Stands for SQL NULL in int8 arrays (postgres-nio arrays carry no NULL elements).
    static let nullTime = Int64.min

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func meterCatalog(in scope: TenantScope) async throws -> MeterCatalog {
        try await client.withConnection { connection in try await Self.catalog(scope.tenantID, on: connection, logger: self.logger) }
    }

    /// Reads the version before the meters: a change committed in between then makes the
    /// catalog look stale (and ingest reloads it), never newer than it is.
    static func catalog(_ tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws -> MeterCatalog {
        let version = try await connection.query(
            "SELECT meter_catalog_version FROM tenants WHERE id = \(tenant.rawValue)", logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
        let rows = try await connection.query(
            "SELECT slug, event_type, aggregation, value_path, group_by::text FROM meters WHERE tenant_id = \(tenant.rawValue) ORDER BY slug",
            logger: logger
        ).collect()
        let meters = try rows.map { row in
            let (slug, eventType, aggregationText, valuePath, groupBy) = try row.decode((String, String, String, String?, String).self)
            guard let aggregation = Aggregation(rawValue: aggregationText) else { throw StorageDecodingError(column: "aggregation") }
            return MeterDefinition(slug: slug, eventType: eventType, aggregation: aggregation, valuePath: valuePath, groupBy: try StoredGroupBy.decode(groupBy))
        }
        return MeterCatalog(version: version, meters: meters)
    }

    public func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog {
        do {
            return try await changeMeter(meter, in: scope) { tx in
                try await tx.query(
                    """
                    INSERT INTO meters (tenant_id, slug, event_type, aggregation, value_path, group_by, created_at, updated_at)
                    VALUES (\(scope.tenantID.rawValue), \(meter.slug), \(meter.eventType), \(meter.aggregation.rawValue), \(meter.valuePath),
                            \(StoredGroupBy.encode(meter.groupBy))::jsonb, \(at), \(at))
                    """,
                    logger: self.logger
                )
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw TallyError(.conflict, "a meter with slug '\(meter.slug)' already exists", field: "slug")
        }
    }

    public func updateMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog {
        try await changeMeter(meter, in: scope) { tx in
            let rows = try await tx.query(
                """
                UPDATE meters SET event_type = \(meter.eventType), aggregation = \(meter.aggregation.rawValue), value_path = \(meter.valuePath),
                       group_by = \(StoredGroupBy.encode(meter.groupBy))::jsonb, updated_at = \(at)
                WHERE tenant_id = \(scope.tenantID.rawValue) AND slug = \(meter.slug) RETURNING slug
                """,
                logger: self.logger
            ).collect()
            guard !rows.isEmpty else { throw TallyError.notFound("meter") }
        }
    }

    /// Bumps the catalog version (taking the tenant's ledger lock exclusively), writes the meter,
    /// and recomputes its rollups from every booked event of its type.
    private func changeMeter(
        _ meter: MeterDefinition, in scope: TenantScope, write: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws -> MeterCatalog {
        let logger = self.logger
        let tenant = scope.tenantID
        return try await client.transaction(logger: logger) { tx in
            let bumped = try await tx.query(
                "UPDATE tenants SET meter_catalog_version = meter_catalog_version + 1 WHERE id = \(tenant.rawValue) RETURNING id", logger: logger
            ).collect()
            guard !bumped.isEmpty else { throw TallyError.notFound("tenant") }
            try await write(tx)
            let catalog = try await Self.catalog(tenant, on: tx, logger: logger)
            try await tx.query("DELETE FROM meter_rollups WHERE tenant_id = \(tenant.rawValue) AND meter = \(meter.slug)", logger: logger)
            try await tx.query("DELETE FROM meter_distinct_values WHERE tenant_id = \(tenant.rawValue) AND meter = \(meter.slug)", logger: logger)
            let only = MeterCatalog(version: catalog.version, meters: [meter])
            let events = try await Self.effectiveEvents(tenant, type: meter.eventType, from: .min, to: .max, on: tx, logger: logger)
            try await Self.write(RollupBatch.recomputed(tenantID: tenant, catalog: only, events: events), on: tx, logger: logger)
            return catalog
        }
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        var outcomes = [AppendOutcome](repeating: .duplicate, count: entries.count)
        // Rows in key order, so concurrent group commits take their index locks in one order.
        let firsts = RollupBatch.firstOccurrences(entries).sorted { entries[$0].dedupKey.precedes(entries[$1].dedupKey) }
        guard !firsts.isEmpty else { return outcomes }
        let statement = try PostgresAppendStatement(entries, firsts: firsts)
        let rows = try await client.execute(statement, logger: logger)
        var inserted: [Int64] = []
        var stale = Set<TenantID>()
        for try await (kind, tenant, positions) in rows {
            switch kind {
            case "missing": throw TallyError.notFound("tenant")
            case "stale":
                guard let tenant else { throw StorageDecodingError(column: "tenant") }
                stale.insert(TenantID(trusted: tenant))
            default: inserted = positions ?? []
            }
        }
        guard stale.isEmpty else { throw StaleMeterCatalog(tenants: stale) }
        // Positions are 1-based in the statement's rows, which are `firsts` in order.
        for position in inserted {
            guard position >= 1, position <= firsts.count else { throw StorageDecodingError(column: "inserted position") }
            outcomes[firsts[Int(position) - 1]] = .accepted
        }
        return outcomes
    }

    public func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]? {
        guard !entries.isEmpty else { return nil }
        let rows = try await client.query(
            """
            SELECT u.n FROM unnest(\(entries.map(\.tenantID.rawValue))::text[], \(entries.map(\.event.source))::text[],
                                   \(entries.map(\.event.id))::text[], \(entries.map(\.receivedAt))::int8[]) WITH ORDINALITY AS u(t, s, i, r, n)
            JOIN usage_events e ON e.tenant_id = u.t AND e.source = u.s AND e.event_id = u.i AND e.received_at = u.r
            """,
            logger: logger
        )
        var stored = Set<Int>()
        for try await position in rows.decode(Int64.self) { stored.insert(Int(position) - 1) }
        return RollupBatch.outcomesOfFailedAppend(entries, stored: stored)
    }

    /// Adds rollup deltas and distinct values.
    private static func write(_ deltas: (states: [RollupKey: MeterState], distinct: Set<DistinctValue>), on tx: PostgresConnection, logger: Logger) async throws {
        if !deltas.states.isEmpty { try await upsertRollups(deltas.states, on: tx, logger: logger) }
        if !deltas.distinct.isEmpty { try await insertDistinct(deltas.distinct, on: tx, logger: logger) }
    }

    private static func upsertRollups(_ states: [RollupKey: MeterState], on tx: PostgresConnection, logger: Logger) async throws {
        var tenants: [String] = [], meters: [String] = [], windows: [Int64] = [], groups: [String] = [], counts: [Int64] = []
        var sums: [String] = [], mins: [String] = [], maxes: [String] = [], latestTimes: [Int64] = [], latestIDs: [String] = [], latestValues: [String] = []
        // In key order, so concurrent transactions lock rollup rows in one order (no deadlock).
        for (key, state) in states.sorted(by: { $0.key.precedes($1.key) }) {
            tenants.append(key.tenantID.rawValue)
            meters.append(key.meter)
            windows.append(key.windowStart)
            groups.append(key.groupKey)
            counts.append(state.count)
            sums.append(state.sum.description)
            mins.append(state.min?.description ?? "")
            maxes.append(state.max?.description ?? "")
            latestTimes.append(state.latest?.time ?? nullTime)
            latestIDs.append(state.latest?.eventID ?? "")
            latestValues.append(state.latest?.value.description ?? "")
        }
        // The latest value wins by (time, event id), compared byte-wise (COLLATE "C") as Swift does for ids.
        try await tx.query(
            """
            INSERT INTO meter_rollups AS r (tenant_id, meter, window_start, group_key, count, sum, min, max, latest_time, latest_event_id, latest_value)
            SELECT t, m, w, g, c, s::numeric, NULLIF(mi, '')::numeric, NULLIF(ma, '')::numeric, NULLIF(lt, \(nullTime)),
                   NULLIF(li, ''), NULLIF(lv, '')::numeric
            FROM unnest(\(tenants)::text[], \(meters)::text[], \(windows)::int8[], \(groups)::text[], \(counts)::int8[], \(sums)::text[],
                        \(mins)::text[], \(maxes)::text[], \(latestTimes)::int8[], \(latestIDs)::text[], \(latestValues)::text[])
                 AS u(t, m, w, g, c, s, mi, ma, lt, li, lv)
            \(unescaped: mergeRollups)
            """,
            logger: logger
        )
    }

    /// How an upserted rollup row merges into the stored one (`MeterState.merge` in SQL), for
    /// every statement that writes rollups; the row being written is aliased `r`.
    static let mergeRollups = """
        ON CONFLICT (tenant_id, meter, window_start, group_key) DO UPDATE SET
            count = r.count + EXCLUDED.count,
            sum = r.sum + EXCLUDED.sum,
            min = LEAST(r.min, EXCLUDED.min),
            max = GREATEST(r.max, EXCLUDED.max),
            latest_time = CASE WHEN \(newerLatest) THEN EXCLUDED.latest_time ELSE r.latest_time END,
            latest_event_id = CASE WHEN \(newerLatest) THEN EXCLUDED.latest_event_id ELSE r.latest_event_id END,
            latest_value = CASE WHEN \(newerLatest) THEN EXCLUDED.latest_value ELSE r.latest_value END
        """

    private static let newerLatest = """
        (EXCLUDED.latest_time IS NOT NULL AND (r.latest_time IS NULL OR EXCLUDED.latest_time > r.latest_time
         OR (EXCLUDED.latest_time = r.latest_time AND EXCLUDED.latest_event_id COLLATE "C" > r.latest_event_id COLLATE "C")))
        """

    private static func insertDistinct(_ values: Set<DistinctValue>, on tx: PostgresConnection, logger: Logger) async throws {
        let items = values.sorted { ($0.key.precedes($1.key)) || ($0.key == $1.key && $0.value.utf8.lexicographicallyPrecedes($1.value.utf8)) }
        try await tx.query(
            """
            INSERT INTO meter_distinct_values (tenant_id, meter, window_start, group_key, value)
            SELECT * FROM unnest(\(items.map(\.key.tenantID.rawValue))::text[], \(items.map(\.key.meter))::text[],
                                 \(items.map(\.key.windowStart))::int8[], \(items.map(\.key.groupKey))::text[], \(items.map(\.value))::text[])
            ON CONFLICT DO NOTHING
            """,
            logger: logger
        )
    }

    public func meterTotals(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> (count: Int64, sum: Quantity) {
        let rows = try await client.query(
            """
            SELECT COALESCE(sum(count), 0)::bigint, COALESCE(sum(sum), 0)::text FROM meter_rollups
            WHERE tenant_id = \(scope.tenantID.rawValue) AND meter = \(meter) AND window_start >= \(fromWindow) AND window_start < \(toWindow)
            """,
            logger: logger
        ).collect()
        guard let row = rows.first else { return (0, .zero) }
        let (count, sum) = try row.decode((Int64, String).self)
        guard let total = Quantity(stored: sum) else { throw StorageDecodingError(column: "sum") }
        return (count, total)
    }

    public func meters(of scopes: [TenantScope]) async throws -> [TenantID: [MeterDefinition]] {
        guard !scopes.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT tenant_id, slug, event_type, aggregation, value_path, group_by::text FROM meters
            WHERE tenant_id = ANY(\(scopes.map(\.tenantID.rawValue))) ORDER BY tenant_id, slug
            """,
            logger: logger
        ).collect()
        var out: [TenantID: [MeterDefinition]] = [:]
        for row in rows {
            let (tenant, slug, eventType, aggregationText, valuePath, groupBy) = try row.decode((String, String, String, String, String?, String).self)
            guard let id = TenantID(tenant), let aggregation = Aggregation(rawValue: aggregationText) else { throw StorageDecodingError(column: "meters") }
            out[id, default: []].append(MeterDefinition(slug: slug, eventType: eventType, aggregation: aggregation, valuePath: valuePath,
                                                        groupBy: try StoredGroupBy.decode(groupBy)))
        }
        return out
    }

    public func meterTotals(of scopes: [TenantScope], meters: [String], fromWindow: Int64, toWindow: Int64) async throws -> [TenantID: [String: (count: Int64, sum: Quantity)]] {
        guard !scopes.isEmpty, !meters.isEmpty else { return [:] }
        let split = Self.daySplit(from: fromWindow, to: toWindow)
        // Whole UTC days from the day rollups, the partial days at either edge from the minutes.
        let rows = try await client.query(
            """
            SELECT tenant_id, meter, sum(count)::bigint, sum(sum)::text FROM (
                SELECT tenant_id, meter, count, sum FROM meter_rollups_daily
                WHERE tenant_id = ANY(\(scopes.map(\.tenantID.rawValue))) AND meter = ANY(\(meters))
                  AND day_start >= \(split.dayFrom) AND day_start < \(split.dayTo)
                UNION ALL
                SELECT tenant_id, meter, count, sum FROM meter_rollups
                WHERE tenant_id = ANY(\(scopes.map(\.tenantID.rawValue))) AND meter = ANY(\(meters))
                  AND ((window_start >= \(fromWindow) AND window_start < \(split.dayFrom)) OR (window_start >= \(split.dayTo) AND window_start < \(toWindow)))
            ) AS parts
            GROUP BY tenant_id, meter
            """,
            logger: logger
        ).collect()
        var out: [TenantID: [String: (count: Int64, sum: Quantity)]] = [:]
        for row in rows {
            let (tenant, meter, count, sum) = try row.decode((String, String, Int64, String).self)
            guard let id = TenantID(tenant), let total = Quantity(stored: sum) else { throw StorageDecodingError(column: "meter_rollups") }
            out[id, default: [:]][meter] = (count, total)
        }
        return out
    }

    /// The whole UTC days inside `[from, to)`; when there is none, an empty day range at `to`,
    /// so the minute ranges `[from, dayFrom)` and `[dayTo, to)` cover everything.
    static func daySplit(from: Int64, to: Int64) -> (dayFrom: Int64, dayTo: Int64) {
        let day: Int64 = 86_400
        let first = from >= 0 ? (from + day - 1) / day * day : from / day * day
        let last = to >= 0 ? to / day * day : (to - day + 1) / day * day
        return first < last ? (first, last) : (to, to)
    }

    public func rollups(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [RollupRow] {
        let rows = try await client.query(
            """
            SELECT window_start, group_key, count, sum::text, min::text, max::text, latest_time, latest_event_id, latest_value::text
            FROM meter_rollups WHERE tenant_id = \(scope.tenantID.rawValue) AND meter = \(meter)
              AND window_start >= \(fromWindow) AND window_start < \(toWindow)
            ORDER BY window_start, group_key
            """,
            logger: logger
        ).collect()
        return try rows.map { row in
            let (window, group, count, sum, min, max, latestTime, latestID, latestValue) =
                try row.decode((Int64, String, Int64, String, String?, String?, Int64?, String?, String?).self)
            func quantity(_ text: String?, _ column: String) throws -> Quantity? {
                guard let text else { return nil }
                guard let value = Quantity(stored: text) else { throw StorageDecodingError(column: column) }
                return value
            }
            var state = MeterState()
            state.count = count
            state.sum = try quantity(sum, "sum") ?? .zero
            state.min = try quantity(min, "min")
            state.max = try quantity(max, "max")
            if let latestTime, let latestID, let value = try quantity(latestValue, "latest_value") {
                state.latest = MeterState.Latest(time: latestTime, eventID: latestID, value: value)
            }
            return RollupRow(windowStart: window, groupKey: group, state: state)
        }
    }

    public func distinctValues(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [DistinctValue] {
        let rows = try await client.query(
            """
            SELECT window_start, group_key, value FROM meter_distinct_values
            WHERE tenant_id = \(scope.tenantID.rawValue) AND meter = \(meter) AND window_start >= \(fromWindow) AND window_start < \(toWindow)
            ORDER BY window_start, group_key, value
            """,
            logger: logger
        ).collect()
        return try rows.map { row in
            let (window, group, value) = try row.decode((Int64, String, String).self)
            return DistinctValue(key: RollupKey(tenantID: scope.tenantID, meter: meter, windowStart: window, groupKey: group), value: value)
        }
    }

    public func countEvents(in scope: TenantScope, source: String) async throws -> Int {
        try await client.query(
            "SELECT count(*) FROM usage_events WHERE tenant_id = \(scope.tenantID.rawValue) AND source = \(source)", logger: logger
        ).collect().first?.decode(Int.self) ?? 0
    }

    public func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent] {
        try await client.withConnection { connection in
            try await Self.effectiveEvents(scope.tenantID, type: type, from: from, to: to, on: connection, logger: self.logger)
        }
    }

    /// Booked events as they count now (the latest correction applied, voided ones left out).
    static func effectiveEvents(_ tenant: TenantID, type: String, from: Int64, to: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [UsageEvent] {
        var events: [UsageEvent] = []
        let rows = try await connection.query(
            """
            SELECT e.source, e.event_id, e.subject, e.event_time, e.data::text, c.kind, c.subject, c.data::text
            FROM usage_events e
            LEFT JOIN LATERAL (
                SELECT kind, subject, data FROM event_corrections c
                WHERE c.tenant_id = e.tenant_id AND c.source = e.source AND c.event_id = e.event_id ORDER BY seq DESC LIMIT 1
            ) c ON TRUE
            WHERE e.tenant_id = \(tenant.rawValue) AND e.type = \(type) AND e.event_time >= \(from) AND e.event_time < \(to)
            ORDER BY e.event_time, e.source, e.event_id
            """,
            logger: logger
        )
        for try await (source, id, subject, time, data, kind, amendedSubject, amendedData)
            in rows.decode((String, String, String?, Int64, String, String?, String?, String?).self) {
            if let event = try StoredEvent.effective(
                id: id, source: source, type: type, subject: subject, time: time, data: data, correction: kind, amendedSubject: amendedSubject, amendedData: amendedData
            ) { events.append(event) }
        }
        return events
    }

    public func history(source: String, eventID: String, in scope: TenantScope) async throws -> EventHistory? {
        try await client.withConnection { connection in
            try await Self.history(scope.tenantID, source: source, eventID: eventID, lock: false, on: connection, logger: self.logger)
        }
    }

    static func history(_ tenant: TenantID, source: String, eventID: String, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> EventHistory? {
        let lockClause = lock ? " FOR UPDATE" : ""
        guard let row = try await connection.query(
            """
            SELECT type, subject, event_time, received_at, data::text FROM usage_events
            WHERE tenant_id = \(tenant.rawValue) AND source = \(source) AND event_id = \(eventID)\(unescaped: lockClause)
            """,
            logger: logger
        ).collect().first else { return nil }
        let (type, subject, time, received, data) = try row.decode((String, String?, Int64, Int64, String).self)
        let event = UsageEvent(id: eventID, source: source, type: type, subject: subject, time: time, data: try StoredJSON.decodeObject(data))
        var corrections: [EventCorrection] = []
        for try await (seq, kind, amendedSubject, amendedData, reason, created) in try await connection.query(
            """
            SELECT seq, kind, subject, data::text, reason, created_at FROM event_corrections
            WHERE tenant_id = \(tenant.rawValue) AND source = \(source) AND event_id = \(eventID) ORDER BY seq
            """,
            logger: logger
        ).decode((Int, String, String?, String?, String?, Int64).self) {
            guard let kind = EventCorrection.Kind(rawValue: kind) else { throw StorageDecodingError(column: "kind") }
            corrections.append(EventCorrection(
                sequence: seq, kind: kind, subject: amendedSubject, data: try amendedData.map(StoredJSON.decodeObject), reason: reason, createdAt: created
            ))
        }
        return EventHistory(event: event, receivedAt: received, corrections: corrections)
    }

    public func correct(
        source: String, eventID: String, _ request: CorrectionRequest, in scope: TenantScope, policy: EventTimePolicy, now: Int64
    ) async throws -> EventHistory {
        let logger = self.logger
        let tenant = scope.tenantID
        return try await client.transaction(logger: logger) { tx in
            // The tenant's ledger lock, exclusively: no ingest books into the window while it is recomputed.
            let locked = try await tx.query("SELECT id FROM tenants WHERE id = \(tenant.rawValue) FOR NO KEY UPDATE", logger: logger).collect()
            guard !locked.isEmpty else { throw TallyError.notFound("tenant") }
            guard var history = try await Self.history(tenant, source: source, eventID: eventID, lock: true, on: tx, logger: logger) else {
                throw TallyError.notFound("event")
            }
            let catalog = try await Self.catalog(tenant, on: tx, logger: logger)
            let correction = try LedgerRules.next(request, history: history, catalog: catalog, policy: policy, now: now)
            try await tx.query(
                """
                INSERT INTO event_corrections (tenant_id, source, event_id, seq, kind, subject, data, reason, created_at)
                VALUES (\(tenant.rawValue), \(source), \(eventID), \(correction.sequence), \(correction.kind.rawValue), \(correction.subject),
                        \(try correction.data.map(StoredJSON.encode))::jsonb, \(correction.reason), \(correction.createdAt))
                """,
                logger: logger
            )
            history.corrections.append(correction)
            // Recompute the event's minute window for every meter of its type.
            let type = history.event.type
            let meters = catalog.meters.filter { $0.eventType == type }
            if !meters.isEmpty {
                let window = RollupBatch.window(of: history.event.time)
                let slugs = meters.map(\.slug)
                try await tx.query(
                    "DELETE FROM meter_rollups WHERE tenant_id = \(tenant.rawValue) AND meter = ANY(\(slugs)::text[]) AND window_start = \(window)", logger: logger
                )
                try await tx.query(
                    "DELETE FROM meter_distinct_values WHERE tenant_id = \(tenant.rawValue) AND meter = ANY(\(slugs)::text[]) AND window_start = \(window)",
                    logger: logger
                )
                let events = try await Self.effectiveEvents(tenant, type: type, from: window * 1_000_000, to: (window + 60) * 1_000_000, on: tx, logger: logger)
                let recomputed = RollupBatch.recomputed(tenantID: tenant, catalog: MeterCatalog(version: catalog.version, meters: meters), events: events)
                try await Self.write(recomputed, on: tx, logger: logger)
            }
            return history
        }
    }
}
