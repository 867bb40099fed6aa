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
}

/// The usage ledger and meters behind one driver protocol; every driver passes the same
/// conformance suite. Events are appended, never changed; rollups change only in the same
/// transaction as the events they count, so they are never ahead of or behind the ledger.
public protocol LedgerStore: LedgerAppender {
    /// Defines a meter; `conflict` (field `slug`) when the tenant has one by that slug.
    func insertMeter(_ meter: MeterDefinition, in scope: TenantScope, at: Date) async throws
    /// The tenant's meters, by slug.
    func meters(in scope: TenantScope) async throws -> [MeterDefinition]

    /// Books a batch (events of any tenants) in one transaction and returns each event's outcome,
    /// in order: `accepted` when it was new, `duplicate` when its `(tenant, source, id)` was
    /// already booked. Accepted events' readings update the rollups in the same transaction.
    func append(_ entries: [LedgerEntry]) async throws -> [AppendOutcome]

    /// Rollup rows of one meter with `fromWindow <= window_start < toWindow` (Unix seconds).
    func rollups(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [RollupRow]
    /// Distinct values of a UNIQUE_COUNT meter in the same range.
    func distinctValues(in scope: TenantScope, meter: String, fromWindow: Int64, toWindow: Int64) async throws -> [DistinctValue]
    /// Booked events of a type with `from <= event_time < to` (microseconds), in time order.
    func events(in scope: TenantScope, type: String, from: Int64, to: Int64) async throws -> [UsageEvent]
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
