import Billing
import Core
import Logging
import Metering
import Platform
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally bench billing`: a month of usage for many subscriptions, then one billing run that
/// invoices every period, timed against the plain SQL aggregate of the same events measured in
/// the same run (the floor a billing run without rollups could not beat).
///
/// Setup: `subscriptions` tenants, each with a SUM meter `tokens` (events `llm.tokens`,
/// `data.n`), subscribed to one plan (a flat fee and graduated token prices) for September
/// 2026; `events` events booked through the ledger's own append path (rollups in the same
/// transaction), each tenant's in bursts of `eventsPerMinute` per minute. Then the aggregate
/// runs `aggregateRepeats` times, the billing run once (its clock just past the period's end),
/// and every draft invoice is checked against the aggregate: the token quantity it rated must
/// equal the tenant's raw sum, and its total the plan's price for that sum.
public struct BillingBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var subscriptions = 5_000
        public var events = 10_000_000
        public var eventsPerMinute = 10
        public var batch = 5_000
        public var loaders = 4
        public var aggregateRepeats = 3
        public var runConcurrency = 8
        /// 1: bill September. 2: bill and finalize September first, then time October's run,
        /// which also looks for late usage in September (the steady state).
        public var periods = 1

        public init() {}
    }

    public struct Report: Sendable {
        public var backend: String
        public var subscriptions: Int
        public var periods: Int
        public var events: Int
        public var eventsPerMinute: Int
        public var rollupRows: Int
        public var loadSeconds: Double
        public var aggregateSeconds: [Double]
        public var billingSeconds: Double
        public var invoices: Int
        public var failures: Int
        public var mismatches: Int

        public var aggregateMedian: Double { median(aggregateSeconds) }
        /// Billing run time over the aggregate's median: at most 1 is the floor.
        public var ratio: Double { aggregateMedian > 0 ? billingSeconds / aggregateMedian : 0 }
        public var verified: Bool { invoices == subscriptions && failures == 0 && mismatches == 0 }

        public var json: JSONValue {
            .object([
                "backend": .string(backend), "subscriptions": .number(Double(subscriptions)), "periods": .number(Double(periods)), "events": .number(Double(events)),
                "events_per_minute": .number(Double(eventsPerMinute)), "rollup_rows": .number(Double(rollupRows)),
                "load_seconds": .number(loadSeconds), "load_events_per_second": .number(loadSeconds > 0 ? Double(events) / loadSeconds : 0),
                "aggregate_seconds": .array(aggregateSeconds.map(JSONValue.number)), "aggregate_median_seconds": .number(aggregateMedian),
                "billing_run_seconds": .number(billingSeconds), "ratio": .number(ratio), "invoices": .number(Double(invoices)),
                "failures": .number(Double(failures)), "mismatches": .number(Double(mismatches)), "verified": .bool(verified),
            ])
        }

        public var text: String {
            func f(_ x: Double) -> String { String(format: "%.2f", x) }
            return """
                backend: \(backend)
                subscriptions: \(subscriptions), events: \(events) over \(periods) month(s) (\(eventsPerMinute) per tenant-minute, \(rollupRows) rollup rows)\(periods > 1 ? "; the timed run is the last month's, after the first was invoiced and finalized" : "")
                load (ledger append, rollups in the same transaction): \(f(loadSeconds)) s, \(Int(Double(events) / max(loadSeconds, 0.001))) events/s
                plain SQL aggregate of the raw events: \(aggregateSeconds.map(f).joined(separator: " / ")) s, median \(f(aggregateMedian)) s
                billing run (\(invoices) invoices drafted): \(f(billingSeconds)) s
                ratio billing run / aggregate: \(f(ratio)) (\(ratio <= 1 ? "within" : "over") the floor of 1.00)
                verified against the aggregate: \(verified ? "yes" : "NO") (\(mismatches) mismatches, \(failures) failures)
                """
        }
    }

    /// September 2026 in UTC, then October.
    static let periodStart: Int64 = 1_788_220_800
    static let periodEnd: Int64 = 1_790_812_800
    static let octoberEnd: Int64 = 1_793_491_200
    static func bounds(_ month: Int) -> (start: Int64, end: Int64) { month == 0 ? (periodStart, periodEnd) : (periodEnd, octoberEnd) }
    static let eventType = "llm.tokens"

    let configuration: Configuration
    let logger: Logger

    public init(_ configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    static var plan: PricePlan {
        let usd = Currency("USD")!
        return PricePlan(key: "bench-billing", name: "Bench billing", interval: .month, currency: usd, charges: [
            .init(key: "base", description: "Platform fee", meter: nil, model: .flat(Quantity("10")!)),
            .init(key: "tokens", description: "Tokens", meter: "tokens", model: .graduated([
                .init(upTo: Quantity("500000")!, unitPrice: Quantity("0.00002")!), .init(upTo: nil, unitPrice: Quantity("0.00001")!),
            ])),
        ])
    }

    public func run(storage: StorageBackend, backendName: String) async throws -> Report {
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let plan = try await storage.billing.insertPrices(Self.plan, at: Self.periodStart)
        let tenants = try await setUp(storage: storage, runID: runID, plan: plan)
        let loadSeconds = try await load(storage: storage, tenants: tenants)
        let last = Self.bounds(configuration.periods - 1)
        var billingConfiguration = BillingContext.Configuration()
        billingConfiguration.runConcurrency = configuration.runConcurrency
        // September's invoices fall due after October's run: the timed run bills, it does not dun.
        billingConfiguration.netDays = 45
        func run(at seconds: Int64) async throws -> BillingRun.Report {
            let context = BillingContext(store: storage.billing, ledger: storage.ledger, entitlements: nil, webhooks: nil,
                                         clock: FixedClock(seconds: seconds), configuration: billingConfiguration, logger: logger)
            return try await BillingRun(context: context).run()
        }
        if configuration.periods > 1 {
            // September is invoiced, then finalized an hour later, before October is timed.
            let first = try await run(at: Self.periodEnd + 60)
            let finalized = try await run(at: Self.periodEnd + 7_260)
            guard first.invoiced == configuration.subscriptions, finalized.finalized == configuration.subscriptions else {
                throw TallyError(.internalError, "the first month was not invoiced and finalized in full: \(first.invoiced) drafted, \(finalized.finalized) finalized")
            }
        }

        var aggregateSeconds: [Double] = []
        var aggregate: [String: (count: Int64, sum: String)] = [:]
        for _ in 0..<max(1, configuration.aggregateRepeats) {
            let start = ContinuousClock.now
            aggregate = try await storage.baseline.aggregate(type: Self.eventType, field: "n", from: last.start * 1_000_000, to: last.end * 1_000_000)
            aggregateSeconds.append((ContinuousClock.now - start).totalSeconds)
        }

        let start = ContinuousClock.now
        let report = try await run(at: last.end + 60)
        let billingSeconds = (ContinuousClock.now - start).totalSeconds

        // Check every invoice against the raw aggregate.
        var mismatches = 0
        var invoices = 0
        let mine = Set(tenants.map(\.scope.tenantID))
        var before: InvoiceID?
        while true {
            let page = try await storage.billing.invoices(in: nil, status: .draft, subscription: nil, limit: 1_000, before: before)
            for invoice in page where mine.contains(invoice.tenantID) && invoice.periodStart == last.start {
                invoices += 1
                let raw = aggregate[invoice.tenantID.rawValue]
                let quantity = raw.flatMap { Quantity(stored: $0.sum) } ?? .zero
                let rated = invoice.lines.first { $0.charge == "tokens" }
                let expected = try PeriodRating.draft(plan: plan, periodStart: invoice.periodStart, periodEnd: invoice.periodEnd,
                                                      nominalEnd: invoice.periodEnd, usage: ["tokens": quantity], taxBasisPoints: 0)
                if rated?.quantity != quantity || invoice.total != expected.total { mismatches += 1 }
            }
            guard let last = page.last, page.count == 1_000 else { break }
            before = last.id
        }
        return Report(
            backend: backendName, subscriptions: configuration.subscriptions, periods: configuration.periods, events: configuration.events, eventsPerMinute: configuration.eventsPerMinute,
            rollupRows: tenants.reduce(0) { $0 + $1.minutes } * configuration.periods, loadSeconds: loadSeconds, aggregateSeconds: aggregateSeconds, billingSeconds: billingSeconds,
            invoices: invoices, failures: report.failures, mismatches: mismatches
        )
    }

    struct BenchTenant: Sendable {
        let scope: TenantScope
        let index: Int
        let catalogVersion: Int64
        let meter: MeterDefinition
        /// Distinct minutes its events fall in (its rollup rows).
        let minutes: Int
    }

    /// Tenants, meters and subscriptions, `loaders` at a time.
    func setUp(storage: StorageBackend, runID: String, plan: PricePlan) async throws -> [BenchTenant] {
        let count = configuration.subscriptions
        let perTenant = configuration.events / count / max(1, configuration.periods)
        let minutes = max(1, min(Int((Self.periodEnd - Self.periodStart) / 60), (perTenant + configuration.eventsPerMinute - 1) / configuration.eventsPerMinute))
        return try await withThrowingTaskGroup(of: [BenchTenant].self) { group in
            let slice = (count + configuration.loaders - 1) / configuration.loaders
            for part in 0..<configuration.loaders {
                // Fewer subscriptions than loaders leave the last parts empty.
                guard part * slice < count else { break }
                let range = (part * slice)..<min(count, (part + 1) * slice)
                group.addTask {
                    var out: [BenchTenant] = []
                    for index in range {
                        let now = Date(timeIntervalSince1970: Double(Self.periodStart - 86_400))
                        let tenant = Tenant(id: .generate(at: now), slug: "bb-\(runID)-\(index)", name: "Bench billing \(index)", status: .active,
                                            settings: [:], createdAt: now, updatedAt: now)
                        try await storage.store.insertTenant(tenant)
                        let scope = TenantScope(operatorActingOn: tenant.id)
                        let meter = MeterDefinition(slug: "tokens", eventType: Self.eventType, aggregation: .sum, valuePath: "n")
                        let catalog = try await storage.ledger.insertMeter(meter, in: scope, at: now)
                        let subscription = Subscription(
                            id: .generate(at: now), tenantID: tenant.id, plan: .init(key: plan.key, version: plan.version), state: .active,
                            anchor: Self.periodStart, timeZone: "UTC", trialEnd: nil, periodStart: Self.periodStart, periodEnd: Self.periodEnd,
                            createdAt: Self.periodStart, updatedAt: Self.periodStart
                        )
                        try await storage.billing.insertSubscription(subscription, audit: [], in: scope)
                        out.append(BenchTenant(scope: scope, index: index, catalogVersion: catalog.version, meter: meter, minutes: minutes))
                    }
                    return out
                }
            }
            var all: [BenchTenant] = []
            for try await part in group { all += part }
            return all.sorted { $0.index < $1.index }
        }
    }

    /// Books every event through `LedgerStore.append` (dedup, rollups in the same transaction),
    /// `loaders` batches at once. Each tenant's events fall in `minutes` evenly spaced minutes.
    func load(storage: StorageBackend, tenants: [BenchTenant]) async throws -> Double {
        let perTenant = configuration.events / tenants.count
        let extra = configuration.events % tenants.count
        let span = (Self.periodEnd - Self.periodStart) / 60  // minutes in September; October's first 43,200 minutes likewise
        let periods = configuration.periods
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let slice = (tenants.count + configuration.loaders - 1) / configuration.loaders
            for part in 0..<configuration.loaders {
                let mine = Array(tenants[min(tenants.count, part * slice)..<min(tenants.count, (part + 1) * slice)])
                guard !mine.isEmpty else { continue }
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    var batch: [LedgerEntry] = []
                    batch.reserveCapacity(configuration.batch)
                    for tenant in mine {
                        let events = perTenant + (tenant.index < extra ? 1 : 0)
                        let step = max(1, span / Int64(tenant.minutes))
                        for k in 0..<events {
                            let minute = Int64((k / periods) % tenant.minutes) * step
                            let time = (Self.bounds(k % periods).start + minute * 60) * 1_000_000 + Int64.random(in: 0..<60_000_000, using: &generator)
                            let event = UsageEvent(id: "e\(k)", source: "//bench/billing", type: Self.eventType, subject: nil, time: time,
                                                   data: ["n": .number(Double(Int.random(in: 1...1_000, using: &generator)))])
                            guard case .success(let reading)? = tenant.meter.reading(of: event) else { continue }
                            batch.append(LedgerEntry(tenantID: tenant.scope.tenantID, event: event, receivedAt: time, readings: [reading],
                                                     catalogVersion: tenant.catalogVersion))
                            if batch.count == configuration.batch {
                                _ = try await storage.ledger.append(batch)
                                batch.removeAll(keepingCapacity: true)
                            }
                        }
                    }
                    if !batch.isEmpty { _ = try await storage.ledger.append(batch) }
                }
            }
            try await group.waitForAll()
        }
        return (ContinuousClock.now - start).totalSeconds
    }
}

/// A clock stopped at one instant (the billing run's "now").
struct FixedClock: TallyClock {
    let seconds: Int64
    func now() -> Date { Date(timeIntervalSince1970: Double(seconds)) }
}
