import Actors
import Core
import Entitlements
import Metering
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Meters, event ingest, corrections and meter queries for one tenant at a time.
public struct MeteringService: Sendable {
    let ledger: any LedgerStore
    /// Books entries: the ledger itself, or a group committer in front of it.
    let appender: any LedgerAppender
    let clock: any TallyClock
    /// The tenants' actors (meter catalog, policy, entitlements) and ingest admission control.
    public let directory: TenantDirectory
    /// Where threshold crossings are recorded (none: not recorded).
    let notices: (any EntitlementStore)?
    /// Where newly recorded crossings go out as `usage.threshold` webhooks (none: not sent).
    let webhooks: WebhookService?
    /// How many times ingest recomputes readings when meters change under it before giving up.
    static let staleCatalogAttempts = 5
    /// The events of failed appends whose charges wait for the ledger to say what was booked.
    let failedAppends: FailedAppendBacklog

    public init(
        ledger: any LedgerStore, appender: (any LedgerAppender)? = nil, clock: any TallyClock, directory: TenantDirectory,
        notices: (any EntitlementStore)? = nil, webhooks: WebhookService? = nil, failedAppendLimit: Int = 1_000
    ) {
        self.failedAppends = FailedAppendBacklog(limit: failedAppendLimit)
        self.webhooks = webhooks
        self.ledger = ledger
        self.appender = appender ?? ledger
        self.clock = clock
        self.directory = directory
        self.notices = notices
    }

    public func createMeter(_ meter: MeterDefinition, in scope: TenantScope) async throws -> MeterDefinition {
        try meter.validate()
        try await rebasingQuota(of: meter.slug, from: nil, to: meter, in: scope) {
            _ = try await ledger.insertMeter(meter, in: scope, at: clock.now())
        }
        await directory.invalidate(scope.tenantID)
        return meter
    }

    /// Changes a meter and recomputes it over the ledger.
    public func updateMeter(_ slug: String, _ patch: MeterPatch, in scope: TenantScope) async throws -> MeterDefinition {
        let current = try await meter(slug, in: scope)
        let changed = try patch.apply(to: current)
        try await rebasingQuota(of: slug, from: current, to: changed, in: scope) {
            _ = try await ledger.updateMeter(changed, in: scope, at: clock.now())
        }
        await directory.invalidate(scope.tenantID)
        return changed
    }

    /// Runs `change`, which defines or redefines meter `slug` and recomputes it over the ledger,
    /// and owes the lease pool (`TenantQuota.owe`) what that did to the usage of the tenant's
    /// leased lines on the meter: their usage in the current window read before and after, under
    /// each definition. Bookings made on other nodes and not yet reported are in both reads, so
    /// when they are reported the pool holds exactly the new usage; bookings during the change
    /// may be counted twice (the pool errs high, never low).
    private func rebasingQuota(of slug: String, from old: MeterDefinition?, to new: MeterDefinition, in scope: TenantScope, _ change: () async throws -> Void) async throws {
        let quota = directory.actor(for: scope.tenantID).quota
        let now = clock.now().microsecondsSinceEpoch / 1_000_000
        let lines = try await quota.leasedWindows(meter: slug, now: now)
        guard !lines.isEmpty else { return try await change() }
        var before: [Quantity] = []
        for line in lines { before.append(try await EntitlementService.usage(of: old, in: line.window, now: now, scope: scope, ledger: ledger)) }
        try await change()
        var changes: [(feature: String, amount: Quantity)] = []
        do {
            for (line, used) in zip(lines, before) {
                changes.append((line.feature, try await EntitlementService.usage(of: new, in: line.window, now: now, scope: scope, ledger: ledger) - used))
            }
        } catch {
            // The change is committed; the pool misses its effect on usage (logged, not refused).
            directory.logger.warning("a meter change's usage could not be read back for the quota lease pool", metadata: ["meter": "\(slug)", "error": "\(error)"])
            return
        }
        quota.owe(changes)
    }

    public func meters(in scope: TenantScope) async throws -> [MeterDefinition] {
        try await ledger.meters(in: scope)
    }

    public func meter(_ slug: String, in scope: TenantScope) async throws -> MeterDefinition {
        guard let meter = try await ledger.meters(in: scope).first(where: { $0.slug == slug }) else { throw TallyError.notFound("meter") }
        return meter
    }

    /// Runs an ingest of `bytes` under the tenant's and the node's in-flight limits.
    public func withAdmission<T>(_ scope: TenantScope, bytes: Int, _ body: () async throws -> T) async throws -> T {
        try await directory.withAdmission(scope.tenantID, bytes: bytes, body)
    }

    /// Validates every event on its own and books the valid ones in one durable transaction.
    /// With `atomic`, one bad event books nothing (the good ones come back `skipped`).
    public func ingest(_ values: [JSONValue], in scope: TenantScope, atomic: Bool) async throws -> IngestReport {
        let actor = directory.actor(for: scope.tenantID)
        for _ in 0..<Self.staleCatalogAttempts {
            let snapshot = try await actor.snapshot()
            do {
                return try await ingest(values, in: scope, atomic: atomic, snapshot: snapshot)
            } catch is StaleMeterCatalog {
                await actor.catalogIsStale(version: snapshot.catalog.version)
            }
        }
        throw TallyError(.unavailable, "the tenant's meters are changing; retry shortly")
    }

    private func ingest(_ values: [JSONValue], in scope: TenantScope, atomic: Bool, snapshot: TenantActor.Snapshot) async throws -> IngestReport {
        let now = clock.now().microsecondsSinceEpoch
        var results: [EventResult] = []
        results.reserveCapacity(values.count)
        var entries: [LedgerEntry] = []
        var entryIndexes: [Int] = []
        for (index, value) in values.enumerated() {
            switch Self.entry(for: value, tenant: scope.tenantID, snapshot: snapshot, now: now) {
            case .success(let entry):
                results.append(EventResult(index: index, id: entry.event.id, source: entry.event.source, status: .accepted))
                entries.append(entry)
                entryIndexes.append(index)
            case .failure(let rejection):
                let object = value.objectValue
                results.append(EventResult(
                    index: index, id: object?["id"].flatMap(Self.text), source: object?["source"].flatMap(Self.text), status: .rejected,
                    code: rejection.code, field: rejection.field, reason: rejection.reason
                ))
            }
        }
        if atomic, entries.count != values.count {
            for index in entryIndexes { results[index].status = .skipped }
            return IngestReport(results: results)
        }
        guard !entries.isEmpty else { return IngestReport(results: results) }
        // Hard limits: each event's demand on the tenant's metered entitlements is charged
        // before it is booked (and settled after), so usage in flight counts too.
        let quota = directory.actor(for: scope.tenantID).quota
        let seconds = now / 1_000_000
        let demands = try await quota.withBook(now: seconds) { book in
            book.lines.isEmpty ? [] : entries.map { book.demands(of: $0.readings, eventTime: Self.floorSeconds($0.event.time)) }
        }
        var charges: [[QuotaBook.Charge]] = []
        if demands.contains(where: { !$0.isEmpty }) {
            var kept: [LedgerEntry] = [], keptIndexes: [Int] = []
            for (position, outcome) in try await quota.charge(demands, now: seconds).enumerated() {
                switch outcome {
                case .charged(let charged):
                    charges.append(charged)
                    kept.append(entries[position])
                    keptIndexes.append(entryIndexes[position])
                case .refused(let feature, let result):
                    let index = entryIndexes[position], event = entries[position].event
                    // A retry of an event booked before is a duplicate, whatever the quota says now.
                    if try await ledger.history(source: event.source, eventID: event.id, in: scope) != nil {
                        results[index].status = .duplicate
                        continue
                    }
                    results[index].status = .rejected
                    results[index].code = "quota_exceeded"
                    results[index].reason = "this event would take \(feature) past its hard limit of \(result.limit) (used \(result.used), remaining \(result.remaining))"
                case .needsLease:
                    preconditionFailure("TenantQuota.charge grows leases itself")
                }
            }
            if atomic, kept.count != entries.count {
                for charged in charges { _ = quota.settle(charged, booked: false) }
                for index in keptIndexes { results[index].status = .skipped }
                return IngestReport(results: results)
            }
            entries = kept
            entryIndexes = keptIndexes
        }
        guard !entries.isEmpty else { return IngestReport(results: results) }
        let outcomes: [AppendOutcome]
        do {
            outcomes = try await appender.append(entries)
        } catch {
            if !charges.isEmpty { settleFailedAppend(entries, charges: charges, quota: quota, error: error, in: scope) }
            throw error
        }
        var crossings: [QuotaBook.ThresholdCrossing] = []
        for (position, outcome) in outcomes.enumerated() {
            if outcome == .duplicate { results[entryIndexes[position]].status = .duplicate }
            if !charges.isEmpty { crossings += quota.settle(charges[position], booked: outcome == .accepted) }
        }
        await notify(crossings, in: scope)
        return IngestReport(results: results)
    }

    /// How long the charges of an append that threw wait for the ledger to say what it booked:
    /// the delays before each ask, about a minute in all, never more than 5 s apart (so charges
    /// settle within 5 s of the database coming back).
    static let failedAppendAsks: [Duration] =
        [.zero, .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)] + Array(repeating: .seconds(5), count: 10)

    /// Settles the charges of an append that threw. One that may have committed (a connection
    /// lost at the commit, which the committer could not resolve either) keeps its charges in
    /// flight, counted, until the ledger says what it booked, in the background: so the client's
    /// retry, answered `duplicate`, leaves no booked usage uncounted. If the ledger cannot say
    /// within `failedAppendAsks`, the charges are released. Any other failure booked nothing,
    /// and with the node's backlog of such questions full (`failedAppendLimit` events, as in a
    /// long outage) the charges are released too: at once.
    func settleFailedAppend(_ entries: [LedgerEntry], charges: [[QuotaBook.Charge]], quota: TenantQuota, error: any Error, in scope: TenantScope) {
        guard FailedAppend.mayHaveCommitted(error), failedAppends.admit(entries.count) else {
            for charged in charges { _ = quota.settle(charged, booked: false) }
            return
        }
        // Only the keys and receipt times are asked about; the events' data is not kept.
        let keys = entries.map { entry in
            LedgerEntry(
                tenantID: entry.tenantID, event: UsageEvent(id: entry.event.id, source: entry.event.source, type: "", subject: nil, time: 0, data: [:]),
                receivedAt: entry.receivedAt, readings: [], catalogVersion: entry.catalogVersion
            )
        }
        let backlog = failedAppends
        Task {
            defer { backlog.done(keys.count) }
            var outcomes: [AppendOutcome]?
            for delay in Self.failedAppendAsks {
                try? await Task.sleep(for: delay)
                do {
                    outcomes = try await appender.outcomesOfFailedAppend(keys)
                    break
                } catch {
                    continue
                }
            }
            var crossings: [QuotaBook.ThresholdCrossing] = []
            for (position, charged) in charges.enumerated() {
                crossings += quota.settle(charged, booked: outcomes?[position] == .accepted)
            }
            await notify(crossings, in: scope)
        }
    }

    /// Records threshold crossings (once per feature, period and threshold, across nodes) and
    /// sends a `usage.threshold` webhook for each one recorded just now.
    private func notify(_ crossings: [QuotaBook.ThresholdCrossing], in scope: TenantScope) async {
        guard !crossings.isEmpty, let notices, let recorded = try? await notices.recordCrossings(crossings, in: scope, at: clock.now()), let webhooks else { return }
        for crossing in recorded {
            _ = try? await webhooks.send(type: "usage.threshold", data: .object([
                "feature": .string(crossing.feature), "threshold_percent": .number(Double(crossing.threshold)),
                "used": .string(crossing.used.description), "limit": .string(crossing.limit.description),
                "period_start": .string(RFC3339.format(microseconds: crossing.periodStart * 1_000_000)),
            ]), in: scope)
        }
    }

    /// Unix seconds of a microsecond timestamp, rounding toward the past.
    static func floorSeconds(_ micros: Int64) -> Int64 { micros >= 0 ? micros / 1_000_000 : -((-micros + 999_999) / 1_000_000) }

    /// The ledger entry for one submitted event, or why it cannot be booked.
    static func entry(for value: JSONValue, tenant: TenantID, snapshot: TenantActor.Snapshot, now: Int64) -> Result<LedgerEntry, EventRejection> {
        let event: UsageEvent
        switch CloudEventEnvelope.parse(value, receivedAt: now) {
        case .success(let parsed): event = parsed
        case .failure(let rejection): return .failure(rejection)
        }
        if let rejection = snapshot.policy.check(eventTime: event.time, now: now) { return .failure(rejection) }
        switch snapshot.catalog.readings(of: event) {
        case .success(let readings):
            return .success(LedgerEntry(tenantID: tenant, event: event, receivedAt: now, readings: readings, catalogVersion: snapshot.catalog.version))
        case .failure(let rejection):
            return .failure(rejection)
        }
    }

    /// Voids or amends a booked event; its window's rollups are recomputed in the same transaction.
    /// The tenant's quota follows: usage the correction takes back (or adds) counts at once, and
    /// returns to (or is taken from) the lease pool that nodes share.
    public func correct(source: String, eventID: String, _ request: CorrectionRequest, in scope: TenantScope) async throws -> EventHistory {
        let actor = directory.actor(for: scope.tenantID)
        let snapshot = try await actor.snapshot()
        let now = clock.now().microsecondsSinceEpoch
        // Begun before the correction commits, so the quota counts the change exactly once.
        let quota = actor.quota
        let correction = try await quota.beginCorrection(now: now / 1_000_000)
        let history: EventHistory
        do {
            history = try await ledger.correct(source: source, eventID: eventID, request, in: scope, policy: snapshot.policy, now: now)
        } catch {
            quota.endCorrection(correction)
            throw error
        }
        let before = EventHistory(event: history.event, receivedAt: history.receivedAt, corrections: history.corrections.dropLast()).effective
        let readings = { (event: UsageEvent?) in event.map { snapshot.catalog.countableReadings(of: $0) } ?? [] }
        let crossings = quota.correct(correction, before: readings(before), after: readings(history.effective), eventTime: Self.floorSeconds(history.event.time))
        await notify(crossings, in: scope)
        return history
    }

    /// A booked event and its corrections.
    public func history(source: String, eventID: String, in scope: TenantScope) async throws -> EventHistory {
        guard let history = try await ledger.history(source: source, eventID: eventID, in: scope) else { throw TallyError.notFound("event") }
        return history
    }

    static func text(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// A meter's one value over the query's range (all groups).
    public func total(_ meter: MeterDefinition, _ query: MeterQuery, in scope: TenantScope) async throws -> Quantity? {
        let (rows, distinct) = try await stored(meter, query, in: scope)
        return query.total(meter: meter, rollups: rows, distinct: distinct)
    }

    /// The meter's points for the query.
    public func query(_ slug: String, _ query: MeterQuery, in scope: TenantScope) async throws -> (MeterDefinition, [MeterQuery.Point]) {
        let meter = try await self.meter(slug, in: scope)
        try query.validate(for: meter)
        let (rows, distinct) = try await stored(meter, query, in: scope)
        return (meter, query.evaluate(meter: meter, rollups: rows, distinct: distinct))
    }

    /// The rollup rows (and, for UNIQUE_COUNT, distinct values) the query's range covers.
    private func stored(
        _ meter: MeterDefinition, _ query: MeterQuery, in scope: TenantScope
    ) async throws -> (rows: [(windowStart: Int64, groupKey: String, state: MeterState)], distinct: [DistinctValue]) {
        let range = query.windowRange
        let rows = try await ledger.rollups(in: scope, meter: meter.slug, fromWindow: range.from, toWindow: range.to)
        let distinct = meter.aggregation == .uniqueCount
            ? try await ledger.distinctValues(in: scope, meter: meter.slug, fromWindow: range.from, toWindow: range.to) : []
        return (rows.map { ($0.windowStart, $0.groupKey, $0.state) }, distinct)
    }
}

/// The outcome of every event of one ingest request, in request order.
public struct IngestReport: Sendable, Encodable {
    public var results: [EventResult]

    /// The report as JSON, written directly (the hot path of every ingest response): the same
    /// members `encode(to:)` writes, counts first.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + results.count * 72)
        writer.raw("{\"accepted\":")
        writer.write(accepted)
        writer.raw(",\"duplicates\":")
        writer.write(duplicates)
        writer.raw(",\"rejected\":")
        writer.write(rejected)
        writer.raw(",\"results\":[")
        for (position, result) in results.enumerated() {
            if position > 0 { writer.raw(",") }
            result.write(into: &writer)
        }
        writer.raw("]}")
        return writer.bytes
    }

    public var accepted: Int { results.filter { $0.status == .accepted }.count }
    public var duplicates: Int { results.filter { $0.status == .duplicate }.count }
    public var rejected: Int { results.filter { $0.status == .rejected }.count }

    enum CodingKeys: String, CodingKey { case accepted, duplicates, rejected, results }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accepted, forKey: .accepted)
        try c.encode(duplicates, forKey: .duplicates)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(results, forKey: .results)
    }
}

/// One event's outcome.
public struct EventResult: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Encodable {
        /// Booked now, durably.
        case accepted
        /// Booked before (same tenant, source and id): counted nothing.
        case duplicate
        /// Not booked: see `code`, `field` and `reason`.
        case rejected
        /// Valid, but not booked because the atomic batch had a rejected event.
        case skipped
    }

    public var index: Int
    public var id: String?
    public var source: String?
    public var status: Status
    public var code: String?
    public var field: String?
    public var reason: String?

    /// Writes the result as a JSON object (absent members left out, as `Encodable` does).
    public func write(into writer: inout JSONWriter) {
        writer.raw("{\"index\":")
        writer.write(index)
        for (name, value) in [("id", id), ("source", source), ("status", status.rawValue), ("code", code), ("field", field), ("reason", reason)] {
            guard let value else { continue }
            writer.raw(",")
            writer.key(name)
            writer.write(value)
        }
        writer.raw("}")
    }

    /// The result as a `JSONValue` (for problem documents that carry the results).
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = ["index": .number(Double(index)), "status": .string(status.rawValue)]
        for (name, value) in [("id", id), ("source", source), ("code", code), ("field", field), ("reason", reason)] {
            if let value { object[name] = .string(value) }
        }
        return .object(object)
    }

    public init(index: Int, id: String?, source: String?, status: Status, code: String? = nil, field: String? = nil, reason: String? = nil) {
        self.index = index
        self.id = id
        self.source = source
        self.status = status
        self.code = code
        self.field = field
        self.reason = reason
    }
}
