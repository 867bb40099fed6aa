import Core
import Metering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Anything that books ledger entries: a `LedgerStore` itself, or a `GroupCommitter` in front of it.
public protocol LedgerAppender: Sendable {
    /// Books the entries durably and returns each one's outcome, in order.
    func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]
    /// After an `append` of these entries threw, what it booked after all: a lost connection can
    /// hide a commit that happened. The outcomes `append` would have returned
    /// (`RollupBatch.outcomesOfFailedAppend`: entries whose key the ledger holds with their own
    /// `receivedAt`), or `nil` when it booked nothing and may be retried.
    func outcomesOfFailedAppend(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]?
}

/// The usage ledger and meters behind one driver protocol; every driver passes the same
/// conformance suite. Events are appended, never changed; rollups change only in the same
/// transaction as the events they count, so they are never ahead of or behind the ledger.
///
/// A meter counts every booked event of its type: defining or changing a meter recomputes its
/// rollups from the ledger, and ingest books an entry only if the meter catalog its readings
/// were computed with is still the tenant's current one (else `StaleMeterCatalog`).
public protocol LedgerStore: LedgerAppender {
    /// The tenant's meters and catalog version.
    func meterCatalog(in scope: TenantScope) async throws -> MeterCatalog
    /// Defines a meter and computes it over the booked events of its type; `conflict` (field
    /// `slug`) when the tenant has one by that slug. Returns the new catalog.
    func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog
    /// Replaces a meter's definition (same slug) and recomputes it over the booked events;
    /// `not_found` when there is none. Returns the new catalog.
    func updateMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws -> MeterCatalog

    /// Books a batch (events of any tenants) in one transaction and returns each event's outcome,
    /// in order: `accepted` when it was new, `duplicate` when its `(tenant, source, id)` was
    /// already booked. Accepted events' readings update the rollups in the same transaction.
    /// Throws `StaleMeterCatalog` (booking nothing) if an entry's catalog version is not current.
    func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]

    /// Appends a void or amendment to a booked event and recomputes the rollups of the event's
    /// window in the same transaction. `not_found` for an unknown event, `event_voided` (409)
    /// after a void, `event_too_old` outside `policy`, a meter's rejection for an unreadable
    /// amendment. Returns the event's history with the new correction.
    func correct(
        source: String, eventID: String, _ request: CorrectionRequest, in scope: TenantScope, policy: EventTimePolicy, now: Int64
    ) async throws -> EventHistory
    /// A booked event and its corrections, or `nil`.
    func history(source: String, eventID: String, in scope: TenantScope) async throws -> EventHistory?

    /// Rollup rows of one meter with `fromWindow <= window_start < toWindow` (Unix seconds).
    func rollups(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [RollupRow]
    /// The event count and value sum of one meter's rollups with `fromWindow <= window_start <
    /// toWindow`, all groups together: what COUNT and SUM meters total (entitlement usage).
    func meterTotals(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> (count: Int64, sum: Quantity)
    /// Several tenants' meters in one query (the billing run reads a page of subscriptions'
    /// at once); each tenant's own rows only, as `meterCatalog` reads them.
    func meters(of scopes: [TenantScope]) async throws -> [TenantID: [MeterDefinition]]
    /// Several tenants' COUNT and SUM totals of the named meters over the same windows, in one
    /// query: tenant → meter → totals (absent: no rollups).
    func meterTotals(of scopes: [TenantScope], meters: [String], fromWindow: Int64, toWindow: Int64) async throws -> [TenantID: [String: (count: Int64, sum: Quantity)]]
    /// Distinct values of a UNIQUE_COUNT meter in the same range.
    func distinctValues(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [DistinctValue]
    /// How many events from `source` the tenant's ledger holds (voided ones included: they stay booked).
    func countEvents(in scope: TenantScope, source: String) async throws -> Int
    /// Booked events of a type with `from <= event_time < to` (microseconds), in time order, as
    /// they count now: amended events amended, voided events left out.
    func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent]
}

extension LedgerStore {
    /// The tenant's meters, by slug.
    public func meters(in scope: TenantScope) async throws -> [MeterDefinition] {
        try await meterCatalog(in: scope).meters
    }
}

/// An append was computed against a meter catalog that has changed since: recompute the
/// readings with the current catalog and append again.
public struct StaleMeterCatalog: Error, Sendable, Equatable {
    public var tenants: Set<TenantID>
    public init(tenants: Set<TenantID>) { self.tenants = tenants }
}

/// How both drivers turn a stored event row and its latest correction into the event as it counts now.
enum StoredEvent {
    static func effective(
        id: String, source: String, type: String, subject: String?, time: Int64, data: String,
        correction: String?, amendedSubject: String?, amendedData: String?
    ) throws -> UsageEvent? {
        guard let correction else {
            return UsageEvent(id: id, source: source, type: type, subject: subject, time: time, data: try StoredJSON.decodeObject(data))
        }
        guard let kind = EventCorrection.Kind(rawValue: correction) else { throw StorageDecodingError(column: "kind") }
        // `EventCorrection.apply` is the one rule for what a correction leaves; the original data
        // is not decoded, as every correction replaces or voids it.
        let original = UsageEvent(id: id, source: source, type: type, subject: subject, time: time, data: [:])
        let latest = EventCorrection(
            sequence: 0, kind: kind, subject: amendedSubject, data: try amendedData.map(StoredJSON.decodeObject), reason: nil, createdAt: 0
        )
        return latest.apply(to: original)
    }
}

/// The checks both drivers make before they append entries or a correction, pure.
enum LedgerRules {
    static func next(
        _ request: CorrectionRequest, history: EventHistory, catalog: MeterCatalog, policy: EventTimePolicy, now: Int64
    ) throws(TallyError) -> EventCorrection {
        if let rejection = policy.check(eventTime: history.event.time, now: now), rejection.code == "event_too_old" {
            throw TallyError(.eventRejected(rejection.code), "the event is older than the tenant's lateness horizon; enable backfill to correct it", field: "time")
        }
        switch history.next(request, catalog: catalog, now: now) {
        case .success(let correction):
            return correction
        case .failure(let rejection) where rejection.code == "event_voided":
            throw TallyError(.eventVoided, rejection.reason)
        case .failure(let rejection):
            throw TallyError(.eventRejected(rejection.code), rejection.reason, field: rejection.field)
        }
    }

    /// Throws unless every tenant `entries` name exists (`current` holds each one's catalog
    /// version, read under its lock) and each entry was computed with its tenant's current catalog.
    static func checkCatalogs(_ entries: [LedgerEntry], current: [TenantID: Int64]) throws {
        if entries.contains(where: { current[$0.tenantID] == nil }) { throw TallyError.notFound("tenant") }
        let stale = Set(entries.lazy.filter { current[$0.tenantID] != $0.catalogVersion }.map(\.tenantID))
        guard stale.isEmpty else { throw StaleMeterCatalog(tenants: stale) }
    }
}

extension TallyError.Code {
    /// A voided event takes no further corrections.
    public static let eventVoided = TallyError.Code("event_voided", status: 409, title: "Event voided")
    /// An event (or correction) the metering rules refuse, by the rejection's code.
    public static func eventRejected(_ code: String) -> TallyError.Code { TallyError.Code(code, status: 422, title: "Event rejected") }
}

/// One stored rollup row.
public struct RollupRow: Sendable, Equatable {
    public var windowStart: Int64
    public var groupKey: String
    public var state: MeterState

    public init(windowStart: Int64, groupKey: String, state: MeterState) {
        self.windowStart = windowStart
        self.groupKey = groupKey
        self.state = state
    }
}

extension TallyError.Code {
    /// A meter total would leave the exact range (more than 10^20 in one minute and group).
    public static let meterOverflow = TallyError.Code("meter_total_out_of_range", status: 422, title: "Meter total out of range")
}

/// How both drivers store a meter's `group_by` object.
enum StoredGroupBy {
    static func encode(_ groupBy: [String: String]) -> String { GroupKey.encode(groupBy) }
    static func decode(_ text: String) throws -> [String: String] {
        let object = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        return object
    }
}
