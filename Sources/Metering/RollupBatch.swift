import Core

/// One event on its way into the ledger, with what it contributes to each of its tenant's meters.
public struct LedgerEntry: Sendable, Equatable {
    public var tenantID: TenantID
    public var event: UsageEvent
    /// Microseconds since the epoch when Tally received the event.
    public var receivedAt: Int64
    public var readings: [MeterReading]
    /// The tenant's meter catalog version the readings were computed with; the ledger books the
    /// entry only while it is still current.
    public var catalogVersion: Int64

    public init(tenantID: TenantID, event: UsageEvent, receivedAt: Int64, readings: [MeterReading], catalogVersion: Int64) {
        self.tenantID = tenantID
        self.event = event
        self.receivedAt = receivedAt
        self.readings = readings
        self.catalogVersion = catalogVersion
    }

    /// The deduplication key: an event is the same event for ever when these match.
    public var dedupKey: DedupKey { DedupKey(tenantID: tenantID, source: event.source, eventID: event.id) }
}

/// `(tenant, source, id)`: the identity of an event across retries.
public struct DedupKey: Sendable, Hashable {
    public var tenantID: TenantID
    public var source: String
    public var eventID: String

    public init(tenantID: TenantID, source: String, eventID: String) {
        self.tenantID = tenantID
        self.source = source
        self.eventID = eventID
    }

    /// Byte-wise order (as PostgreSQL's `COLLATE "C"`): the order appends lock rows in.
    public func precedes(_ other: DedupKey) -> Bool {
        if tenantID != other.tenantID { return tenantID.rawValue.utf8.lexicographicallyPrecedes(other.tenantID.rawValue.utf8) }
        if source != other.source { return source.utf8.lexicographicallyPrecedes(other.source.utf8) }
        return eventID.utf8.lexicographicallyPrecedes(other.eventID.utf8)
    }
}

/// The address of one rollup row: meter, minute window and group within a tenant.
public struct RollupKey: Sendable, Hashable {
    public var tenantID: TenantID
    public var meter: String
    /// Unix seconds, a multiple of 60.
    public var windowStart: Int64
    public var groupKey: String

    public init(tenantID: TenantID, meter: String, windowStart: Int64, groupKey: String) {
        self.tenantID = tenantID
        self.meter = meter
        self.windowStart = windowStart
        self.groupKey = groupKey
    }

    /// Byte-wise order of the primary key (tenant, meter, window, group): the order rollup rows are locked in.
    public func precedes(_ other: RollupKey) -> Bool {
        if tenantID != other.tenantID { return tenantID.rawValue.utf8.lexicographicallyPrecedes(other.tenantID.rawValue.utf8) }
        if meter != other.meter { return meter.utf8.lexicographicallyPrecedes(other.meter.utf8) }
        if windowStart != other.windowStart { return windowStart < other.windowStart }
        return groupKey.utf8.lexicographicallyPrecedes(other.groupKey.utf8)
    }
}

/// The pure bookkeeping of one ledger append, shared by every driver.
public enum RollupBatch {
    /// Indexes of the first occurrence of each dedup key; later copies in the same batch are
    /// duplicates of it without asking the database.
    public static func firstOccurrences(_ entries: [LedgerEntry]) -> [Int] {
        var seen = Set<DedupKey>()
        return entries.indices.filter { seen.insert(entries[$0].dedupKey).inserted }
    }

    /// The outcomes of an append that reported failure but may have committed (a connection
    /// lost after the commit), from `stored`: the positions of the entries whose key the ledger
    /// holds with the entry's own `receivedAt`. An entry the append would have inserted (the first
    /// of its key) and that is stored so was booked by it; every other entry is a duplicate.
    /// `nil` when the append booked nothing: it did not commit, or had nothing new to book, and
    /// may be retried.
    public static func outcomesOfFailedAppend(_ entries: [LedgerEntry], stored: Set<Int>) -> [AppendOutcome]? {
        var outcomes = [AppendOutcome](repeating: .duplicate, count: entries.count)
        var booked = false
        for index in firstOccurrences(entries) where stored.contains(index) {
            outcomes[index] = .accepted
            booked = true
        }
        return booked ? outcomes : nil
    }

    /// The rollup deltas and distinct values of the entries that were inserted.
    public static func deltas(of entries: some Sequence<LedgerEntry>) -> (states: [RollupKey: MeterState], distinct: Set<DistinctValue>) {
        var states: [RollupKey: MeterState] = [:]
        var distinct = Set<DistinctValue>()
        for entry in entries {
            for reading in entry.readings {
                let key = RollupKey(
                    tenantID: entry.tenantID, meter: reading.meter,
                    windowStart: window(of: reading.time), groupKey: GroupKey.encode(reading.dimensions)
                )
                states[key, default: MeterState()].apply(reading)
                if case .distinct(let value) = reading.value { distinct.insert(DistinctValue(key: key, value: value)) }
            }
        }
        return (states, distinct)
    }

    /// The rollups of booked (effective) events recomputed from scratch: how a new or changed
    /// meter is computed over history, and how a corrected event's window is recomputed.
    public static func recomputed(
        tenantID: TenantID, catalog: MeterCatalog, events: some Sequence<UsageEvent>
    ) -> (states: [RollupKey: MeterState], distinct: Set<DistinctValue>) {
        deltas(of: events.lazy.map { event in
            LedgerEntry(tenantID: tenantID, event: event, receivedAt: 0, readings: catalog.countableReadings(of: event), catalogVersion: catalog.version)
        })
    }

    /// The minute window (Unix seconds) an event time (microseconds) is booked in.
    public static func window(of micros: Int64) -> Int64 {
        WindowSize.minute.bucketStart(containing: floorSeconds(micros))
    }

    /// Whole seconds at or before `micros` microseconds since the epoch.
    public static func floorSeconds(_ micros: Int64) -> Int64 {
        micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    }
}

/// A value a UNIQUE_COUNT meter saw in one rollup row.
public struct DistinctValue: Sendable, Hashable {
    public var key: RollupKey
    public var value: String

    public init(key: RollupKey, value: String) {
        self.key = key
        self.value = value
    }
}

/// What happened to one event of an append.
public enum AppendOutcome: String, Sendable, Equatable {
    /// Newly booked: the ledger holds it and its meters count it.
    case accepted
    /// Already booked (by an earlier request or earlier in this batch): counted nothing.
    case duplicate
}
