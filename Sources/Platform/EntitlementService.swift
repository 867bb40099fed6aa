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

/// Plans, tenants' plan assignments and overrides, grants, and the checks tenants' products
/// make on their hot path ("may this tenant do this now?"), answered from the tenant's
/// `TenantQuota` in memory.
public struct EntitlementService: Sendable {
    let store: any EntitlementStore
    let ledger: any LedgerStore
    let clock: any TallyClock
    let directory: TenantDirectory
    /// Reservations last this long unless the caller asks otherwise.
    public static let defaultReservationSeconds: Int64 = 60
    public static let maxReservationSeconds: Int64 = 3_600

    public init(store: any EntitlementStore, ledger: any LedgerStore, clock: any TallyClock, directory: TenantDirectory) {
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.directory = directory
    }

    var now: Int64 { clock.nowSeconds }

    // MARK: Plans

    public func createPlan(_ json: JSONValue) async throws -> Plan {
        let plan = try Plan.parse(json)
        try await validate(plan.entitlements, field: "entitlements")
        try await store.insertPlan(plan, at: clock.now())
        return plan
    }

    /// Changes a plan's `name`, `entitlements` (replaced whole) or `rate_limits`; tenants on the
    /// plan see the change within the quota refresh interval.
    public func updatePlan(_ key: String, _ json: JSONValue) async throws -> Plan {
        var plan = try await plan(key)
        try plan.patch(json)
        try await validate(plan.entitlements, field: "entitlements")
        guard try await store.updatePlan(plan, at: clock.now()) else { throw TallyError.notFound("plan") }
        for actor in directory.actors { actor.quota.invalidate() }
        return plan
    }

    public func plans() async throws -> [Plan] { try await store.plans() }

    public func plan(_ key: String) async throws -> Plan {
        guard let plan = try await store.plan(key: key) else { throw TallyError.notFound("plan") }
        return plan
    }

    /// Every entitlement names a feature of the catalog, of the same kind.
    func validate(_ specs: [String: EntitlementSpec?], field: String) async throws {
        guard !specs.isEmpty else { return }
        let catalog = Dictionary(uniqueKeysWithValues: try await store.features().map { ($0.key, $0) })
        for (key, spec) in specs.sorted(by: { $0.key < $1.key }) {
            guard let feature = catalog[key] else { throw TallyError.validation("\(field).\(key)", "there is no feature '\(key)'") }
            try spec?.validate(for: feature, field: "\(field).\(key)")
        }
    }

    func validate(_ specs: [String: EntitlementSpec], field: String) async throws {
        try await validate(specs.mapValues { Optional($0) }, field: field)
    }

    // MARK: Seed data

    /// What `seed` did, by key.
    public struct SeedReport: Sendable, Equatable {
        public var createdFeatures: [String] = []
        public var createdPlans: [String] = []
        public var updatedPlans: [String] = []
        /// Already there (and, for plans, left as they were without `update`).
        public var unchanged: [String] = []
    }

    /// Loads seed data: features and plans that do not exist are created; existing plans are
    /// replaced only with `update` (an operator's later edits win otherwise). Every plan is
    /// checked against the catalog (as it will be after the seed) before anything is written.
    public func seed(_ data: SeedData, update: Bool) async throws -> SeedReport {
        var report = SeedReport()
        var catalog = Dictionary(uniqueKeysWithValues: try await store.features().map { ($0.key, $0) })
        for feature in data.features where catalog[feature.key] == nil { catalog[feature.key] = feature }
        for plan in data.plans {
            for (key, spec) in plan.entitlements.sorted(by: { $0.key < $1.key }) {
                guard let feature = catalog[key] else { throw TallyError.validation("plans.\(plan.key).entitlements.\(key)", "there is no feature '\(key)'") }
                try spec.validate(for: feature, field: "plans.\(plan.key).entitlements.\(key)")
            }
        }
        let now = clock.now()
        for feature in data.features {
            if try await store.feature(key: feature.key) == nil {
                try await store.insertFeature(feature, at: now)
                report.createdFeatures.append(feature.key)
            } else {
                report.unchanged.append(feature.key)
            }
        }
        for plan in data.plans {
            if try await store.plan(key: plan.key) == nil {
                try await store.insertPlan(plan, at: now)
                report.createdPlans.append(plan.key)
            } else if update {
                _ = try await store.updatePlan(plan, at: now)
                report.updatedPlans.append(plan.key)
            } else {
                report.unchanged.append(plan.key)
            }
        }
        for actor in directory.actors { actor.quota.invalidate() }
        return report
    }

    // MARK: Tenants' assignments

    /// The tenant's plan and overrides (none until set).
    public func assignment(in scope: TenantScope) async throws -> TenantEntitlements {
        try await store.tenantEntitlements(in: scope) ?? TenantEntitlements(anchor: Self.minute(now))
    }

    /// Sets the tenant's plan and/or overrides (members left out stay as they are). Assigning
    /// a plan to a tenant that had none starts its billing periods now.
    public func assign(_ json: JSONValue, in scope: TenantScope) async throws -> TenantEntitlements {
        let current = try await store.tenantEntitlements(in: scope)
        var next = try TenantEntitlements.parse(json, current: current ?? TenantEntitlements(anchor: Self.minute(now)))
        if current?.plan == nil, next.plan != nil { next.anchor = Self.minute(now) }
        try await validate(next.overrides, field: "overrides")
        try await store.setTenantEntitlements(next, in: scope, at: clock.now())
        await directory.invalidate(scope.tenantID)
        return next
    }

    /// Billing's link to entitlements: the tenant's plan follows its subscription (`nil` while
    /// it is suspended or over) and billing-period entitlements count from the subscription's
    /// anchor. A plan key with no entitlement plan leaves the assignment as it is.
    public func link(plan: String?, anchor: Int64, in scope: TenantScope) async throws {
        if let plan, try await store.plan(key: plan) == nil { return }
        var next = try await store.tenantEntitlements(in: scope) ?? TenantEntitlements(anchor: Self.minute(anchor))
        guard next.plan != plan || next.anchor != Self.minute(anchor) else { return }
        next.plan = plan
        next.anchor = Self.minute(anchor)
        try await store.setTenantEntitlements(next, in: scope, at: clock.now())
        await directory.invalidate(scope.tenantID)
    }

    /// The minute windows `[from, to)` a period reads: whole minutes (a rolling window's first
    /// minute counts whole); a period that resets ends with the minute holding its last second.
    static func windows(_ window: PeriodWindow) -> (from: Int64, to: Int64) {
        (minute(window.start), (window.resetsAt == nil ? minute(window.end) : minute(window.end - 1)) + 60)
    }

    /// Period boundaries fall on whole minutes, as the rollups do.
    static func minute(_ seconds: Int64) -> Int64 { seconds - ((seconds % 60) + 60) % 60 }

    // MARK: Grants

    public func createGrant(_ request: GrantRequest, in scope: TenantScope) async throws -> GrantDefinition {
        let now = self.now
        let grant = GrantDefinition(
            id: GrantID.generate(at: clock.now()).rawValue, feature: request.feature, amount: request.amount, priority: request.priority ?? 0,
            effectiveAt: request.effectiveAt ?? now, expiresAt: request.expiresAt, recurring: request.recurring ?? false,
            rolloverCap: request.rolloverCap ?? .zero, reason: request.reason
        )
        try grant.validate()
        guard let feature = try await store.feature(key: grant.feature) else {
            throw TallyError.validation("feature", "there is no feature '\(grant.feature)'")
        }
        guard feature.kind == .metered else { throw TallyError.validation("feature", "grants are for metered features; '\(feature.key)' is \(feature.kind.rawValue)") }
        try await store.insertGrant(grant, in: scope, at: clock.now())
        await directory.invalidate(scope.tenantID)
        return grant
    }

    public func grants(in scope: TenantScope) async throws -> [GrantDefinition] { try await store.grants(in: scope) }

    public func voidGrant(_ id: String, in scope: TenantScope) async throws -> GrantDefinition {
        guard GrantID(id) != nil, let grant = try await store.voidGrant(id, in: scope, at: now) else { throw TallyError.notFound("grant") }
        await directory.invalidate(scope.tenantID)
        return grant
    }

    // MARK: Checks

    /// "May the tenant use `amount` more of `feature` now?", from memory; with `reserve`, the
    /// amount is held for `reserveSeconds` (it counts as used until the tenant's usage draws it
    /// down or it expires).
    public func check(_ feature: String, amount: Quantity, reserveSeconds: Int64?, in scope: TenantScope) async throws -> EntitlementAnswer {
        let now = self.now
        let quota = directory.actor(for: scope.tenantID).quota
        if let reserveSeconds {
            guard amount > .zero else { throw TallyError.validation("amount", "a reservation needs an amount above 0") }
            let outcome = try await quota.reserve(feature, amount: amount, until: now + reserveSeconds, now: now)
            var (result, standing) = try await quota.withBook(now: now) { book in
                (book.check(feature, amount: .zero, now: now), Standing(book, feature))
            }
            switch outcome {
            case .charged?:
                result?.allowed = true  // the answer describes the state with the reservation held
                return try await answer(feature, result: result, standing: standing, reserved: amount)
            case .refused(_, let refusal)?:
                return try await answer(feature, result: refusal, standing: standing)
            case .needsLease?, nil:
                standing.line = nil
                return try await answer(feature, result: nil, standing: standing)
            }
        }
        // One visit to the book answers the whole question (this is a product's hot path).
        let (result, standing) = try await quota.withBook(now: now) { book in
            (book.check(feature, amount: amount, now: now), Standing(book, feature))
        }
        return try await answer(feature, result: result, standing: standing)
    }

    /// What the book holds for one feature, read with its check.
    struct Standing: Sendable {
        var line: QuotaBook.Line?
        var other: EntitlementSpec?

        init(_ book: QuotaBook, _ feature: String) {
            line = book.lines[feature]
            other = line == nil ? book.others[feature] : nil
        }
    }

    /// The answer for one feature: metered from `result`, the others from the book.
    func answer(_ key: String, result: CheckResult?, standing: Standing, reserved: Quantity? = nil) async throws -> EntitlementAnswer {
        if let result {
            return EntitlementAnswer(feature: key, kind: .metered, allowed: result.allowed, metered: result, line: standing.line, reserved: reserved)
        }
        switch standing.other {
        case .boolean(let enabled)?:
            return EntitlementAnswer(feature: key, kind: .boolean, allowed: enabled, value: .bool(enabled))
        case .value(let value)?:
            return EntitlementAnswer(feature: key, kind: .static, allowed: true, value: value)
        case .metered?, nil:
            guard let feature = try await store.feature(key: key) else { throw TallyError.notFound("feature") }
            return EntitlementAnswer(feature: key, kind: feature.kind, allowed: false, reason: "not_entitled")
        }
    }

    /// Every entitlement the tenant has, with usage for the metered ones.
    public func entitlements(in scope: TenantScope) async throws -> [EntitlementAnswer] {
        let now = self.now
        let results = try await directory.actor(for: scope.tenantID).quota.withBook(now: now) { book in
            Set(book.lines.keys).union(book.others.keys).sorted().map { key in (key, book.check(key, amount: .zero, now: now), Standing(book, key)) }
        }
        var answers: [EntitlementAnswer] = []
        for (key, result, standing) in results { answers.append(try await answer(key, result: result, standing: standing)) }
        return answers
    }

    /// The threshold notifications recorded for the tenant, newest first.
    public func notifications(in scope: TenantScope, limit: Int = 100) async throws -> [ThresholdNotification] {
        try await store.thresholdNotifications(in: scope, limit: limit)
    }

    /// Records threshold crossings (each once per feature, period and threshold).
    public func record(_ crossings: [QuotaBook.ThresholdCrossing], in scope: TenantScope) async throws {
        guard !crossings.isEmpty else { return }
        _ = try await store.recordCrossings(crossings, in: scope, at: clock.now())
    }

    // MARK: Loading

    /// The tenant's book as of `now`: its plan's entitlements with its overrides, each metered
    /// one with the period's usage from the ledger's rollups and its grants as they stand.
    public static func loadBook(_ tenant: TenantID, now: Int64, store: any EntitlementStore, ledger: any LedgerStore) async throws -> QuotaBook {
        let scope = TenantScope(credentialTenant: tenant)
        guard let assignment = try await store.tenantEntitlements(in: scope) else { return QuotaBook() }
        let plan = try await assignment.plan.asyncMap { try await store.plan(key: $0) } ?? nil
        let specs = assignment.resolve(plan: plan)
        guard !specs.isEmpty else { return QuotaBook() }
        let features = Dictionary(uniqueKeysWithValues: try await store.features().map { ($0.key, $0) })
        let grants = Dictionary(grouping: try await store.grants(in: scope), by: \.feature)
        let catalog = try await ledger.meterCatalog(in: scope)
        var book = QuotaBook()
        for (key, spec) in specs {
            guard let feature = features[key], feature.kind == spec.kind else { continue }
            guard case .metered(let metered) = spec, let slug = feature.meter else {
                book.others[key] = spec
                continue
            }
            let period = metered.entitlementPeriod(anchor: assignment.anchor)
            let window = period.window(at: now)
            let usage = { (window: PeriodWindow) async throws -> Quantity in
                try await Self.usage(of: catalog.meter(slug), in: window, now: now, scope: scope, ledger: ledger)
            }
            let definitions = grants[key] ?? []
            var history: [(window: PeriodWindow, used: Quantity)] = []
            for past in GrantSchedule.pastPeriods(of: definitions, period: period, now: now) {
                history.append((past, try await usage(past)))
            }
            var line = QuotaBook.Line(
                feature: key, meter: slug, spec: metered, window: window,
                grants: GrantSchedule.current(definitions, allowance: metered.limit, history: history, window: window), used: try await usage(window)
            )
            line.additive = catalog.meter(slug).map { $0.aggregation == .sum || $0.aggregation == .count } ?? true
            book.lines[key] = line
        }
        return book
    }

    /// A meter's value over a period (whole minutes: a rolling window's first minute counts
    /// whole, so usage errs on the high side); zero when the tenant has no such meter.
    static func usage(of meter: MeterDefinition?, in window: PeriodWindow, now: Int64, scope: TenantScope, ledger: any LedgerStore) async throws -> Quantity {
        guard let meter else { return .zero }
        let (from, to) = windows(window)
        switch meter.aggregation {
        case .sum: return try await ledger.meterTotals(in: scope, meter: meter.slug, fromWindow: from, toWindow: to).sum
        case .count: return Quantity(Int(try await ledger.meterTotals(in: scope, meter: meter.slug, fromWindow: from, toWindow: to).count))
        default:
            let query = MeterQuery(from: from, to: to, window: .minute)
            let rows = try await ledger.rollups(in: scope, meter: meter.slug, fromWindow: from, toWindow: to)
            let distinct = meter.aggregation == .uniqueCount
                ? try await ledger.distinctValues(in: scope, meter: meter.slug, fromWindow: from, toWindow: to) : []
            return query.total(meter: meter, rollups: rows.map { ($0.windowStart, $0.groupKey, $0.state) }, distinct: distinct) ?? .zero
        }
    }
}

/// One feature's answer for a tenant: `allowed`, and for metered features the limit, usage,
/// what remains and when it resets.
public struct EntitlementAnswer: Sendable, Equatable {
    public var feature: String
    public var kind: Feature.Kind
    public var allowed: Bool
    public var metered: CheckResult?
    public var line: QuotaBook.Line?
    /// What a reservation now holds.
    public var reserved: Quantity?
    /// Boolean and static features: the value.
    public var value: JSONValue?
    /// Why not allowed when the tenant has no entitlement: `not_entitled`.
    public var reason: String?

    public init(
        feature: String, kind: Feature.Kind, allowed: Bool, metered: CheckResult? = nil, line: QuotaBook.Line? = nil,
        reserved: Quantity? = nil, value: JSONValue? = nil, reason: String? = nil
    ) {
        self.feature = feature
        self.kind = kind
        self.allowed = allowed
        self.metered = metered
        self.line = line
        self.reserved = reserved
        self.value = value
        self.reason = reason
    }

    public static func == (lhs: EntitlementAnswer, rhs: EntitlementAnswer) -> Bool {
        lhs.json == rhs.json
    }

    /// The JSON the API returns.
    public var json: JSONValue {
        (try? JSONParser.parse(jsonBytes())) ?? .null
    }

    /// The JSON the API returns, written directly (the check route's hot path): members in
    /// sorted order, absent ones left out.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 384)
        // A time as a JSON string, written in place (RFC 3339 needs no escaping).
        func time(_ seconds: Int64) {
            writer.bytes.append(UInt8(ascii: "\""))
            RFC3339.append(microseconds: seconds * 1_000_000, to: &writer.bytes)
            writer.bytes.append(UInt8(ascii: "\""))
        }
        writer.raw("{\"allowed\":")
        writer.raw(allowed ? "true" : "false")
        if let line {
            writer.raw(",\"enforcement\":")
            writer.write(line.spec.enforcement.rawValue)
        }
        writer.raw(",\"feature\":")
        writer.write(feature)
        if let metered, !metered.drawdown.isEmpty {
            writer.raw(",\"grants_used\":[")
            for (index, use) in metered.drawdown.enumerated() {
                writer.raw(index == 0 ? "{\"grant_id\":" : ",{\"grant_id\":")
                writer.write(use.grantID)
                writer.raw(",\"used\":")
                writer.write(use.used.description)
                writer.raw("}")
            }
            writer.raw("]")
        }
        writer.raw(",\"kind\":")
        writer.write(kind.rawValue)
        if let metered {
            writer.raw(",\"limit\":")
            writer.write(metered.limit.description)
            writer.raw(",\"overage\":")
            writer.write(metered.overage.description)
        }
        if let line {
            writer.raw(",\"period_end\":")
            time(line.window.end)
            writer.raw(",\"period_start\":")
            time(line.window.start)
        }
        if let reason {
            writer.raw(",\"reason\":")
            writer.write(reason)
        }
        if let metered {
            writer.raw(",\"remaining\":")
            writer.write(metered.remaining.description)
        }
        if let reserved {
            writer.raw(",\"reserved\":")
            writer.write(reserved.description)
        }
        if let metered {
            writer.raw(",\"resets_at\":")
            if let resetsAt = metered.resetsAt { time(resetsAt) } else { writer.raw("null") }
            writer.raw(",\"used\":")
            writer.write(metered.used.description)
        }
        if let value {
            writer.raw(",\"value\":")
            writer.write(value)
        }
        writer.raw("}")
        return writer.bytes
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
