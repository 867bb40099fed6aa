import Metering
import PostgresNIO

/// The ledger append on PostgreSQL as one prepared statement: one round trip and one
/// (autocommit, synchronous) transaction, planned once per connection.
///
/// In order, as data-modifying CTEs: lock the tenants' rows FOR SHARE and compare the catalog
/// versions the readings were computed with; insert the events unless a version is stale or a
/// tenant missing (`ON CONFLICT DO NOTHING RETURNING` says which were new); fold the readings of
/// the inserted events into the rollups with MeterState's arithmetic (count of readings, exact
/// NUMERIC sum, min, max, latest by time then event id byte-wise), upserted so concurrent nodes
/// merge exactly; add the distinct values. Rows are written in key order, so concurrent group
/// commits cannot deadlock. It returns the problems (`missing`/`stale` tenants) and, in one row,
/// the positions (1-based, in the statement's order) of the events it inserted: numbers, not
/// keys, so the answer costs one small array to decode rather than a row of strings per event.
struct PostgresAppendStatement: PostgresPreparedStatement {
    static let name = "tally_ledger_append_v2"

    static let sql = """
        WITH locked AS (
            SELECT id, meter_catalog_version AS v FROM tenants WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE
        ), problems AS (
            SELECT CASE WHEN l.id IS NULL THEN 'missing' ELSE 'stale' END AS kind, e.id
            FROM unnest($2::text[], $3::int8[]) AS e(id, v) LEFT JOIN locked l ON l.id = e.id
            WHERE l.v IS DISTINCT FROM e.v
        ), ins AS (
            INSERT INTO usage_events (tenant_id, source, event_id, type, subject, event_time, received_at, data)
            SELECT t, s, i, ty, NULLIF(su, ''), et, ra, d::jsonb
            FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[])
                 WITH ORDINALITY AS u(t, s, i, ty, su, et, ra, d, n)
            WHERE NOT EXISTS (SELECT 1 FROM problems)
            ORDER BY n
            ON CONFLICT DO NOTHING
            RETURNING tenant_id, source, event_id
        ), readings AS (
            SELECT r.t, r.m, r.w, r.g, NULLIF(r.v, '')::numeric AS v, r.tm, r.i, r.d, r.dk
            FROM unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::int8[], $17::text[], $18::text[], $19::int8[],
                        $20::text[], $21::bool[]) AS r(t, s, i, m, w, g, v, tm, d, dk)
            JOIN ins ON ins.tenant_id = r.t AND ins.source = r.s AND ins.event_id = r.i
        ), rolled AS (
            INSERT INTO meter_rollups AS r (tenant_id, meter, window_start, group_key, count, sum, min, max, latest_time, latest_event_id, latest_value)
            SELECT t, m, w, g, count(*), COALESCE(sum(v), 0), min(v), max(v),
                   (array_agg(tm ORDER BY tm DESC, i COLLATE "C" DESC) FILTER (WHERE v IS NOT NULL))[1],
                   (array_agg(i ORDER BY tm DESC, i COLLATE "C" DESC) FILTER (WHERE v IS NOT NULL))[1],
                   (array_agg(v ORDER BY tm DESC, i COLLATE "C" DESC) FILTER (WHERE v IS NOT NULL))[1]
            FROM readings GROUP BY t, m, w, g ORDER BY t, m, w, g
            \(PostgresLedgerStore.mergeRollups)
            RETURNING 1
        ), distinct_values AS (
            INSERT INTO meter_distinct_values (tenant_id, meter, window_start, group_key, value)
            SELECT DISTINCT t, m, w, g, d FROM readings WHERE dk ORDER BY t, m, w, g, d
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT kind, id, NULL::int8[] FROM problems
        UNION ALL
        SELECT 'inserted', NULL, array_agg(u.n ORDER BY u.n)
        FROM ins JOIN unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(t, s, i, n)
             ON ins.tenant_id = u.t AND ins.source = u.s AND ins.event_id = u.i
        """

    typealias Row = (String, String?, [Int64]?)

    var tenantIDs: [String] = []
    var pairTenants: [String] = [], pairVersions: [Int64] = []
    var tenants: [String] = [], sources: [String] = [], ids: [String] = [], types: [String] = [], subjects: [String] = []
    var times: [Int64] = [], received: [Int64] = [], data: [String] = []
    var readingTenants: [String] = [], readingSources: [String] = [], readingIDs: [String] = [], readingMeters: [String] = []
    var readingWindows: [Int64] = [], readingGroups: [String] = [], readingValues: [String] = [], readingTimes: [Int64] = []
    var readingDistinct: [String] = [], readingIsDistinct: [Bool] = []

    /// The statement for the entries at `firsts` (first occurrences, in key order).
    init(_ entries: [LedgerEntry], firsts: [Int]) throws {
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
            for reading in entry.readings {
                readingTenants.append(entry.tenantID.rawValue)
                readingSources.append(entry.event.source)
                readingIDs.append(entry.event.id)
                readingMeters.append(reading.meter)
                readingWindows.append(RollupBatch.window(of: reading.time))
                readingGroups.append(GroupKey.encode(reading.dimensions))
                readingTimes.append(reading.time)
                switch reading.value {
                case .none: readingValues.append(""); readingDistinct.append(""); readingIsDistinct.append(false)
                case .number(let value): readingValues.append(value.description); readingDistinct.append(""); readingIsDistinct.append(false)
                case .distinct(let value): readingValues.append(""); readingDistinct.append(value); readingIsDistinct.append(true)
                }
            }
        }
        // Every (tenant, catalog version) the entries were computed with, duplicates in a batch included.
        struct Pair: Hashable { let tenant: String, version: Int64 }
        for pair in Set(entries.map { Pair(tenant: $0.tenantID.rawValue, version: $0.catalogVersion) }) {
            pairTenants.append(pair.tenant)
            pairVersions.append(pair.version)
        }
        tenantIDs = Array(Set(pairTenants)).sorted()
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 21)
        bindings.append(tenantIDs)
        bindings.append(pairTenants)
        bindings.append(pairVersions)
        bindings.append(tenants)
        bindings.append(sources)
        bindings.append(ids)
        bindings.append(types)
        bindings.append(subjects)
        bindings.append(times)
        bindings.append(received)
        bindings.append(data)
        bindings.append(readingTenants)
        bindings.append(readingSources)
        bindings.append(readingIDs)
        bindings.append(readingMeters)
        bindings.append(readingWindows)
        bindings.append(readingGroups)
        bindings.append(readingValues)
        bindings.append(readingTimes)
        bindings.append(readingDistinct)
        bindings.append(readingIsDistinct)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
