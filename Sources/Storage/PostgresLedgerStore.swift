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
/// A batch is three statements in one transaction: the events (one `INSERT … SELECT FROM unnest`,
/// `ON CONFLICT DO NOTHING RETURNING` says which were new), the rollup deltas of the new ones
/// (one upsert that adds in NUMERIC, so concurrent nodes merge exactly), and distinct values.
public final class PostgresLedgerStore: LedgerStore {
    public let client: PostgresClient
    let logger: Logger
    /// Stands for SQL NULL in int8 arrays (postgres-nio arrays carry no NULL elements).
    static let nullTime = Int64.min

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws {
        do {
            try await client.query(
                """
                INSERT INTO meters (tenant_id, slug, event_type, aggregation, value_path, group_by, created_at)
                VALUES (\(scope.tenantID.rawValue), \(meter.slug), \(meter.eventType), \(meter.aggregation.rawValue), \(meter.valuePath),
                        \(StoredGroupBy.encode(meter.groupBy))::jsonb, \(at))
                """,
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw TallyError(.conflict, "a meter with slug '\(meter.slug)' already exists", field: "slug")
        }
    }

    public func meters(in scope: TenantScope) async throws -> [MeterDefinition] {
        let rows = try await client.query(
            "SELECT slug, event_type, aggregation, value_path, group_by::text FROM meters WHERE tenant_id = \(scope.tenantID.rawValue) ORDER BY slug",
            logger: logger
        ).collect()
        return try rows.map { row in
            let (slug, eventType, aggregationText, valuePath, groupBy) = try row.decode((String, String, String, String?, String).self)
            guard let aggregation = Aggregation(rawValue: aggregationText) else { throw StorageDecodingError(column: "aggregation") }
            return MeterDefinition(slug: slug, eventType: eventType, aggregation: aggregation, valuePath: valuePath, groupBy: try StoredGroupBy.decode(groupBy))
        }
    }

    public func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome] {
        var outcomes = [AppendOutcome](repeating: .duplicate, count: entries.count)
        let firsts = RollupBatch.firstOccurrences(entries)
        guard !firsts.isEmpty else { return outcomes }
        var tenants: [String] = [], sources: [String] = [], ids: [String] = [], types: [String] = [], subjects: [String] = []
        var times: [Int64] = [], received: [Int64] = [], data: [String] = []
        for index in firsts {
            let entry = entries[index]
            tenants.append(entry.tenantID.rawValue)
            sources.append(entry.event.source)
            ids.append(entry.event.id)
            types.append(entry.event.type)
            subjects.append(entry.event.subject ?? "")  // subjects are never empty (the envelope refuses it), so '' stands for NULL
            times.append(entry.event.time)
            received.append(entry.receivedAt)
            data.append(try StoredJSON.encode(entry.event.data))
        }
        let logger = self.logger
        let inserted = try await client.withTransaction(logger: logger) { tx -> [Int] in
            let rows = try await tx.query(
                """
                INSERT INTO usage_events (tenant_id, source, event_id, type, subject, event_time, received_at, data)
                SELECT t, s, i, ty, NULLIF(su, ''), et, ra, d::jsonb
                FROM unnest(\(tenants)::text[], \(sources)::text[], \(ids)::text[], \(types)::text[], \(subjects)::text[],
                            \(times)::int8[], \(received)::int8[], \(data)::text[]) AS u(t, s, i, ty, su, et, ra, d)
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, source, event_id
                """,
                logger: logger
            ).collect()
            let booked = Set(try rows.map { row in
                let (tenant, source, id) = try row.decode((String, String, String).self)
                return DedupKey(tenantID: TenantID(trusted: tenant), source: source, eventID: id)
            })
            let inserted = firsts.filter { booked.contains(entries[$0].dedupKey) }
            let (states, distinct) = RollupBatch.deltas(of: inserted.map { entries[$0] })
            if !states.isEmpty { try await Self.upsertRollups(states, on: tx, logger: logger) }
            if !distinct.isEmpty { try await Self.insertDistinct(distinct, on: tx, logger: logger) }
            return inserted
        }
        for index in inserted { outcomes[index] = .accepted }
        return outcomes
    }

    private static func upsertRollups(_ states: [RollupKey: MeterState], on tx: PostgresConnection, logger: Logger) async throws {
        var tenants: [String] = [], meters: [String] = [], windows: [Int64] = [], groups: [String] = [], counts: [Int64] = []
        var sums: [String] = [], mins: [String] = [], maxes: [String] = [], latestTimes: [Int64] = [], latestIDs: [String] = [], latestValues: [String] = []
        for (key, state) in states {
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
            ON CONFLICT (tenant_id, meter, window_start, group_key) DO UPDATE SET
                count = r.count + EXCLUDED.count,
                sum = r.sum + EXCLUDED.sum,
                min = LEAST(r.min, EXCLUDED.min),
                max = GREATEST(r.max, EXCLUDED.max),
                latest_time = CASE WHEN \(unescaped: newerLatest) THEN EXCLUDED.latest_time ELSE r.latest_time END,
                latest_event_id = CASE WHEN \(unescaped: newerLatest) THEN EXCLUDED.latest_event_id ELSE r.latest_event_id END,
                latest_value = CASE WHEN \(unescaped: newerLatest) THEN EXCLUDED.latest_value ELSE r.latest_value END
            """,
            logger: logger
        )
    }

    private static let newerLatest = """
        (EXCLUDED.latest_time IS NOT NULL AND (r.latest_time IS NULL OR EXCLUDED.latest_time > r.latest_time
         OR (EXCLUDED.latest_time = r.latest_time AND EXCLUDED.latest_event_id COLLATE "C" > r.latest_event_id COLLATE "C")))
        """

    private static func insertDistinct(_ values: Set<DistinctValue>, on tx: PostgresConnection, logger: Logger) async throws {
        let items = Array(values)
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

    public func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent] {
        let rows = try await client.query(
            """
            SELECT source, event_id, type, subject, event_time, data::text FROM usage_events
            WHERE tenant_id = \(scope.tenantID.rawValue) AND type = \(type) AND event_time >= \(from) AND event_time < \(to)
            ORDER BY event_time, source, event_id
            """,
            logger: logger
        ).collect()
        return try rows.map { row in
            let (source, id, type, subject, time, data) = try row.decode((String, String, String, String?, Int64, String).self)
            return UsageEvent(id: id, source: source, type: type, subject: subject, time: time, data: try StoredJSON.decodeObject(data))
        }
    }
}
