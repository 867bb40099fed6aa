import Billing
import Core
import Entitlements
import Metering
import Storage

/// The billing run: invoices every subscription period that has ended, finalizes drafts whose
/// grace period is over (re-rated first, so usage booked meanwhile counts), and carries out
/// the dunning steps that are due. Safe to run any number of times and on several nodes at
/// once: each step is one revision-checked transaction, and a period is invoiced once
/// (`UNIQUE (subscription_id, period_start)`).
public struct BillingRun: Sendable {
    /// What one run did.
    public struct Report: Sendable, Equatable {
        public var invoiced = 0
        public var trialsEnded = 0
        public var canceled = 0
        public var finalized = 0
        public var dunningSteps = 0
        /// Steps another writer got to first (harmless; counted for the operator).
        public var lostRaces = 0
        /// Steps that failed (logged; retried by the next run).
        public var failures = 0

        public init() {}

        mutating func merge(_ other: Report) {
            invoiced += other.invoiced
            trialsEnded += other.trialsEnded
            canceled += other.canceled
            finalized += other.finalized
            dunningSteps += other.dunningSteps
            lostRaces += other.lostRaces
            failures += other.failures
        }

        public var json: JSONValue {
            .object([
                "invoiced": .number(Double(invoiced)), "trials_ended": .number(Double(trialsEnded)), "canceled": .number(Double(canceled)),
                "finalized": .number(Double(finalized)), "dunning_steps": .number(Double(dunningSteps)), "lost_races": .number(Double(lostRaces)),
                "failures": .number(Double(failures)),
            ])
        }
    }

    static let actor = "billing-run"
    static let pageSize = 1_000

    let context: BillingContext
    let invoices: InvoiceService
    /// Price versions never change once stored, so a run reads each once.
    let prices = PriceCache()

    public init(context: BillingContext) {
        self.context = context
        self.invoices = InvoiceService(context: context)
    }

    public func run() async throws -> Report {
        var report = Report()
        try await billPeriods(&report)
        try await finalizeDrafts(&report)
        try await dun(&report)
        return report
    }

    // MARK: Periods

    /// One period's step, computed and not yet written.
    struct Step: Sendable {
        let before: Subscription
        var next: Subscription
        var invoice: Invoice?
        var consumed: [Int64]
        var audit: [BillingAuditEntry]
        var event: String?
        /// Credit the invoice could not use, left for the next one.
        var carry: [InvoiceDraft.Line] = []
    }

    /// What a page of subscriptions needs, read in a few queries instead of a few per
    /// subscription: the tenants' billing settings and meters, and the COUNT/SUM totals per
    /// period.
    struct Prefetch: Sendable {
        var accounts: [TenantID: BillingAccount] = [:]
        var meters: [TenantID: [MeterDefinition]] = [:]
        var pending: [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]] = [:]
        /// Earlier invoices of the subscriptions that have any (late usage).
        var earlier: [SubscriptionID: [Invoice]] = [:]
        /// period start and end → tenant → meter → totals.
        var totals: [PeriodKey: [TenantID: [String: (count: Int64, sum: Quantity)]]] = [:]
    }

    struct PeriodKey: Hashable, Sendable {
        let start: Int64
        let end: Int64
    }

    func billPeriods(_ report: inout Report) async throws {
        var seen = Set<String>()
        while true {
            let now = context.now
            let fresh = try await context.store.dueSubscriptions(now: now, limit: Self.pageSize).filter { !seen.contains("\($0.id)@\($0.periodStart)") }
            if fresh.isEmpty { return }
            for subscription in fresh { seen.insert("\(subscription.id)@\(subscription.periodStart)") }
            let prefetch = try await prefetch(fresh)
            // Steps that still read the store (late usage, pending lines, other aggregations)
            // are prepared `runConcurrency` at a time.
            let prepared = await concurrently(fresh) { subscription -> Step? in
                do {
                    return try await prepare(subscription, now: now, prefetch: prefetch)
                } catch {
                    context.logger.error("billing a subscription period failed", metadata: ["subscription": "\(subscription.id)", "error": "\(error)"])
                    return nil
                }
            }
            let steps = prepared.compactMap { $0 }
            report.failures += prepared.count - steps.count
            // Steps without pending lines are written together, in one transaction; if any of
            // them lost a race, or takes pending lines, it is written on its own.
            let batchable = steps.filter { $0.consumed.isEmpty && $0.carry.isEmpty }
            var written: [Step] = []
            var single = steps.filter { !$0.consumed.isEmpty || !$0.carry.isEmpty }
            let records = batchable.map {
                BillingPeriodRecord(subscription: $0.next, expectedRevision: $0.before.revision, invoice: $0.invoice, audit: $0.audit,
                                    scope: TenantScope(operatorActingOn: $0.before.tenantID))
            }
            if !records.isEmpty, try await context.store.recordPeriods(records) {
                written += batchable
            } else {
                single += batchable
            }
            for step in single {
                do {
                    if try await context.store.recordPeriod(subscription: step.next, expectedRevision: step.before.revision, invoice: step.invoice,
                                                            consumedLines: step.consumed, newPendingLines: step.carry, audit: step.audit,
                                                            in: TenantScope(operatorActingOn: step.before.tenantID)) {
                        written.append(step)
                    } else {
                        report.lostRaces += 1
                    }
                } catch {
                    report.failures += 1
                    context.logger.error("billing a subscription period failed", metadata: ["subscription": "\(step.before.id)", "error": "\(error)"])
                }
            }
            for step in written {
                if step.invoice != nil { report.invoiced += 1 }
                if step.before.inTrial && step.next.state == .active { report.trialsEnded += 1 }
                if step.next.state == .canceled && step.before.state != .canceled { report.canceled += 1 }
            }
            await announce(written)
        }
    }

    func prefetch(_ page: [Subscription]) async throws -> Prefetch {
        var prefetch = Prefetch()
        let scopes = page.map { TenantScope(operatorActingOn: $0.tenantID) }
        prefetch.accounts = try await context.store.accounts(of: scopes)
        prefetch.meters = try await context.ledger.meters(of: scopes)
        prefetch.pending = try await context.store.pendingLines(of: page)
        // The periods to total: each subscription's ended period, and the periods of its
        // finalized invoices still inside the lateness horizon (late usage).
        var byPeriod: [PeriodKey: [(tenant: TenantID, plan: Subscription.PlanRef)]] = [:]
        for subscription in page where !subscription.inTrial {
            byPeriod[PeriodKey(start: subscription.periodStart, end: subscription.periodEnd), default: []].append((subscription.tenantID, subscription.plan))
        }
        let horizon = context.now - Int64(context.configuration.latenessDays) * 86_400
        let billed = page.filter { !$0.inTrial && $0.invoicedPeriods > 0 }
        prefetch.earlier = try await context.store.invoices(of: billed, since: horizon - 400 * 86_400)
        for subscription in billed {
            for invoice in prefetch.earlier[subscription.id] ?? [] where Self.adjustable(invoice, horizon: horizon) {
                byPeriod[PeriodKey(start: invoice.periodStart, end: invoice.periodEnd), default: []].append((subscription.tenantID, invoice.plan))
            }
        }
        for (period, members) in byPeriod {
            var slugs = Set<String>()
            for ref in Set(members.map(\.plan)) {
                for charge in try await prices.plan(ref, context: context).charges { if let meter = charge.meter { slugs.insert(meter) } }
            }
            let window = EntitlementService.windows(PeriodWindow(start: period.start, end: period.end, resetsAt: period.end))
            prefetch.totals[period] = try await context.ledger.meterTotals(
                of: Array(Set(members.map(\.tenant))).map { TenantScope(operatorActingOn: $0) }, meters: slugs.sorted(), fromWindow: window.from, toWindow: window.to
            )
        }
        return prefetch
    }

    /// The meters' totals for a period from the prefetch, when every charge reads a COUNT or
    /// SUM meter's total; `nil` sends the caller to the store (percentages, other aggregations).
    func prefetchedUsage(_ plan: PricePlan, tenant: TenantID, start: Int64, end: Int64, _ prefetch: Prefetch) -> [String: Quantity]? {
        guard let totals = prefetch.totals[PeriodKey(start: start, end: end)] else { return nil }
        let meters = Dictionary((prefetch.meters[tenant] ?? []).map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        var usage: [String: Quantity] = [:]
        for charge in plan.charges {
            guard let slug = charge.meter else { continue }
            if case .percentage = charge.model { return nil }
            guard let meter = meters[slug] else {
                usage[slug] = .zero
                continue
            }
            let total = totals[tenant]?[slug] ?? (0, .zero)
            switch meter.aggregation {
            case .sum: usage[slug] = total.sum
            case .count: usage[slug] = Quantity(Int(total.count))
            default: return nil
            }
        }
        return usage
    }

    /// Computes one ended period's step: its invoice (none for a trial), the subscription moved
    /// on, the audit entries.
    func prepare(_ subscription: Subscription, now: Int64, prefetch: Prefetch) async throws -> Step {
        let scope = TenantScope(operatorActingOn: subscription.tenantID)
        let plan = try await prices.plan(subscription.plan, context: context)
        var next = subscription
        next.updatedAt = now
        var audit: [BillingAuditEntry] = []
        var invoice: Invoice?
        var consumed: [Int64] = []
        var carry: [InvoiceDraft.Line] = []
        if !subscription.inTrial {
            let fullEnd = subscription.state.isFinal
                ? BillingContext.nominalEnd(of: subscription, interval: plan.interval, from: subscription.periodStart) : subscription.periodEnd
            var usage: (totals: [String: Quantity], values: [String: [Quantity]])
            if let totals = prefetchedUsage(plan, tenant: subscription.tenantID, start: subscription.periodStart, end: subscription.periodEnd, prefetch) {
                usage = (totals, [:])
            } else {
                usage = try await context.usage(for: plan, from: subscription.periodStart, to: subscription.periodEnd, in: scope)
            }
            let pending = prefetch.pending[subscription.id] ?? []
            // A first invoiced period has no earlier one that usage could arrive late for.
            let late = subscription.invoicedPeriods > 0 ? try await lateUsage(of: subscription, plan: plan, now: now, in: scope, prefetch: prefetch) : []
            let account = prefetch.accounts[subscription.tenantID] ?? BillingAccount()
            let draft = try PeriodRating.draft(
                plan: plan, periodStart: subscription.periodStart, periodEnd: subscription.periodEnd, nominalEnd: fullEnd, usage: usage.totals,
                eventValues: usage.values, extraLines: late + pending.map(\.line).filter { $0.amount.currency == plan.currency },
                taxBasisPoints: account.taxBasisPoints
            )
            let id = InvoiceID.generate(at: context.clock.now())
            invoice = Invoice(id: id, tenantID: subscription.tenantID, subscriptionID: subscription.id, status: .draft, plan: subscription.plan,
                              periodStart: subscription.periodStart, periodEnd: subscription.periodEnd, fullPeriodEnd: fullEnd, draft: draft,
                              createdAt: now, finalizeAt: now + context.configuration.finalizeGraceSeconds)
            consumed = pending.filter { $0.line.amount.currency == plan.currency }.map(\.id)
            next.invoicedPeriods += 1
            if draft.carriedCredit.minorUnits > 0 { carry = [Self.carried(draft.carriedCredit)] }
            audit.append(context.audit(subscription.tenantID, .invoice, id.rawValue, "drafted", from: nil, to: Invoice.Status.draft.rawValue, actor: Self.actor,
                                       detail: "subscription \(subscription.id), total \(draft.total)"))
        }
        var event: String?
        if subscription.state.isFinal {
            next.closed = true
        } else if subscription.cancelAtPeriodEnd, let state = SubscriptionStateMachine.next(from: subscription.state, on: .periodEndsCanceling) {
            next.state = state
            next.endedAt = subscription.periodEnd
            next.closed = true
            next.pendingPlan = nil
            event = "subscription.canceled"
        } else {
            if subscription.inTrial, let state = SubscriptionStateMachine.next(from: subscription.state, on: .trialConverts) {
                next.state = state
                event = "subscription.updated"
            }
            var interval = plan.interval
            if let pending = subscription.pendingPlan {
                let target = try await prices.plan(pending, context: context)
                if target.interval != plan.interval { next.anchor = subscription.periodEnd }
                interval = target.interval
                next.plan = pending
                next.pendingPlan = nil
                event = "subscription.updated"
            }
            next.periodStart = subscription.periodEnd
            next.periodEnd = BillingContext.nominalEnd(of: next, interval: interval, from: next.periodStart)
        }
        if next.state != subscription.state || next.plan != subscription.plan {
            audit.append(context.audit(subscription.tenantID, .subscription, subscription.id.rawValue, subscription.inTrial && next.state == .active ? "trial_converted" : next.state.isFinal ? "canceled" : "plan_changed",
                                       from: subscription.state.rawValue, to: next.state.rawValue, actor: Self.actor,
                                       detail: next.plan != subscription.plan ? "\(subscription.plan.key) v\(subscription.plan.version) → \(next.plan.key) v\(next.plan.version)" : ""))
        }
        next.revision = subscription.revision + 1
        return Step(before: subscription, next: next, invoice: invoice, consumed: consumed, audit: audit, event: event, carry: carry)
    }

    /// The line that carries unused credit to the next invoice.
    static func carried(_ credit: Money) -> InvoiceDraft.Line {
        InvoiceDraft.Line(kind: .credit, description: "Credit carried forward", amount: credit.negated)
    }

    /// After the steps committed: webhooks and entitlement links, `runConcurrency` at once.
    func announce(_ steps: [Step]) async {
        let needed = steps.filter { context.webhooks != nil || $0.next.state != $0.before.state || $0.next.plan != $0.before.plan }
        guard !needed.isEmpty else { return }
        _ = await concurrently(needed) { step in
            if let invoice = step.invoice { await context.notify("invoice.created", invoice.json, tenant: step.before.tenantID) }
            if step.next.state != step.before.state || step.next.plan != step.before.plan { await context.link(step.next) }
            if let event = step.event { await context.notify(event, step.next.json, tenant: step.before.tenantID) }
        }
    }

    /// `body` over `items`, at most `runConcurrency` at once; the results in completion order.
    func concurrently<T: Sendable, R: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async -> R) async -> [R] {
        await withTaskGroup(of: R.self) { group in
            var pending = items.makeIterator()
            for _ in 0..<max(1, context.configuration.runConcurrency) {
                guard let item = pending.next() else { break }
                group.addTask { await body(item) }
            }
            var out: [R] = []
            for await result in group {
                out.append(result)
                if let item = pending.next() { group.addTask { await body(item) } }
            }
            return out
        }
    }

    /// Adjustment lines for usage booked after earlier periods of this subscription were
    /// finalized, within the lateness horizon. Periods on another currency are left out.
    func lateUsage(of subscription: Subscription, plan: PricePlan, now: Int64, in scope: TenantScope, prefetch: Prefetch) async throws -> [InvoiceDraft.Line] {
        let horizon = now - Int64(context.configuration.latenessDays) * 86_400
        // The page's prefetch read every invoiced subscription's earlier invoices (none: absent).
        let earlier = prefetch.earlier[subscription.id] ?? []
        let lines = earlier.flatMap(\.lines)
        var adjustments: [InvoiceDraft.Line] = []
        for invoice in earlier where Self.adjustable(invoice, horizon: horizon) {
            let billedPlan = try await prices.plan(invoice.plan, context: context)
            guard billedPlan.currency == plan.currency else { continue }
            var usage: (totals: [String: Quantity], values: [String: [Quantity]])
            if let totals = prefetchedUsage(billedPlan, tenant: subscription.tenantID, start: invoice.periodStart, end: invoice.periodEnd, prefetch) {
                usage = (totals, [:])
            } else {
                usage = try await context.usage(for: billedPlan, from: invoice.periodStart, to: invoice.periodEnd, in: scope)
            }
            adjustments += PeriodRating.lateUsage(plan: billedPlan, periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, usage: usage.totals,
                                                  eventValues: usage.values, billed: lines.filter { $0.periodStart == invoice.periodStart })
        }
        return adjustments
    }

    /// A finalized invoice whose period ended inside the lateness horizon: usage may still arrive.
    static func adjustable(_ invoice: Invoice, horizon: Int64) -> Bool {
        (invoice.status == .open || invoice.status == .paid) && invoice.periodEnd > horizon
    }

    // MARK: Finalization

    func finalizeDrafts(_ report: inout Report) async throws {
        var seen = Set<InvoiceID>()
        while true {
            let fresh = try await context.store.dueDrafts(now: context.now, limit: Self.pageSize).filter { !seen.contains($0.id) }
            if fresh.isEmpty { return }
            for draft in fresh {
                seen.insert(draft.id)
                do {
                    if let invoice = try await finalize(draft) {
                        report.finalized += 1
                        await invoices.collect(invoice, attempt: 0, actor: "provider:\(context.provider.name)")
                    } else {
                        report.lostRaces += 1
                    }
                } catch {
                    report.failures += 1
                    context.logger.error("finalizing an invoice failed", metadata: ["invoice": "\(draft.id)", "error": "\(error)"])
                }
            }
        }
    }

    /// Re-rates a draft's usage, numbers it and issues it. `nil` when another run got there first.
    func finalize(_ draft: Invoice) async throws -> Invoice? {
        let scope = TenantScope(operatorActingOn: draft.tenantID)
        let plan = try await prices.plan(draft.plan, context: context)
        let usage = try await context.usage(for: plan, from: draft.periodStart, to: draft.periodEnd, in: scope)
        let kept = draft.lines.filter { $0.kind == .adjustment || $0.kind == .credit || ($0.kind == .proration && $0.charge == nil) }
        let account = try await context.store.account(in: scope) ?? BillingAccount()
        let rated = try PeriodRating.draft(plan: plan, periodStart: draft.periodStart, periodEnd: draft.periodEnd, nominalEnd: draft.fullPeriodEnd,
                                           usage: usage.totals, eventValues: usage.values, extraLines: kept, taxBasisPoints: account.taxBasisPoints)
        let now = context.now
        var invoice = draft
        invoice.apply(rated)
        invoice.status = .open
        invoice.finalizedAt = now
        invoice.dueAt = now + Int64(context.configuration.netDays) * 86_400
        if invoice.total.minorUnits <= 0 {
            invoice.status = .paid
            invoice.paidAt = now
            invoice.paymentReference = "nothing due"
        }
        let entry = context.audit(draft.tenantID, .invoice, draft.id.rawValue, "finalized", from: draft.status.rawValue, to: invoice.status.rawValue,
                                  actor: Self.actor, detail: "total \(invoice.total)")
        let carry = rated.carriedCredit.minorUnits > 0 ? [Self.carried(rated.carriedCredit)] : []
        guard let stored = try await context.store.finalize(invoice, expectedRevision: draft.revision, prefix: context.configuration.invoicePrefix,
                                                            year: BillingContext.year(now), carry: carry, audit: [entry], in: scope) else { return nil }
        await context.notify("invoice.finalized", stored.json, tenant: draft.tenantID)
        return stored
    }

    // MARK: Dunning

    func dun(_ report: inout Report) async throws {
        let work = try await context.store.invoicesInDunning(now: context.now, limit: 1_000).filter { $0.amountDue.minorUnits > 0 }
        // Each invoice is its own transaction: `runConcurrency` at a time.
        let outcomes = await concurrently(work) { invoice -> Int? in
            do {
                return try await dun(invoice)
            } catch {
                context.logger.error("a dunning step failed", metadata: ["invoice": "\(invoice.id)", "error": "\(error)"])
                return nil
            }
        }
        report.dunningSteps += outcomes.reduce(0) { $0 + ($1 ?? 0) }
        report.failures += outcomes.filter { $0 == nil }.count
    }

    /// Carries out the dunning steps due for one overdue invoice; answers how many.
    func dun(_ invoice: Invoice) async throws -> Int {
        let now = context.now
        let scope = TenantScope(operatorActingOn: invoice.tenantID)
        let policy = context.configuration.dunning
        var next = invoice
        var audit: [BillingAuditEntry] = []
        let label = invoice.number ?? invoice.id.rawValue
        guard let subscription = try await context.store.subscription(invoice.subscriptionID, in: scope) else { return 0 }
        var moved = subscription
        var webhooks: [(String, JSONValue)] = []
        var retries: [Int] = []
        if next.paymentFailedAt == nil {
            next.paymentFailedAt = invoice.dueAt ?? now
            audit.append(context.audit(invoice.tenantID, .invoice, invoice.id.rawValue, "overdue", from: invoice.status.rawValue, to: invoice.status.rawValue, actor: "dunning"))
            webhooks.append(("invoice.overdue", next.json))
            if let state = SubscriptionStateMachine.next(from: moved.state, on: .paymentFails) { moved.state = state }
        }
        let due = policy.due(failedAt: next.paymentFailedAt!, done: next.dunningDone, now: now)
        for (index, action) in due {
            switch action {
            case .retry: retries.append(index + 1)
            case .remind: webhooks.append(("invoice.payment_reminder", next.json))
            case .grace, .suspend, .cancel:
                if let event = action.subscriptionEvent, let state = SubscriptionStateMachine.next(from: moved.state, on: event) {
                    moved.state = state
                    if action == .cancel {
                        moved.endedAt = now
                        moved.periodEnd = max(moved.periodStart, min(moved.periodEnd, BillingContext.minuteCeiling(now)))
                        moved.pendingPlan = nil
                        moved.cancelAtPeriodEnd = false
                    }
                }
            }
            audit.append(context.audit(invoice.tenantID, .invoice, invoice.id.rawValue, "dunning_\(action.rawValue)", from: nil, to: nil, actor: "dunning",
                                       detail: "step \(index + 1) of \(policy.steps.count) for \(label)"))
            next.dunningDone = index + 1
        }
        // The schedule is spent: the invoice stays open (and owed) but leaves dunning's work list.
        if next.dunningDone >= policy.steps.count { next.dunningFinished = true }
        guard next != invoice else { return 0 }
        var subscriptionWrite: (Subscription, expectedRevision: Int)?
        if moved.state != subscription.state {
            moved.updatedAt = now
            subscriptionWrite = (moved, subscription.revision)
            audit.append(context.audit(invoice.tenantID, .subscription, subscription.id.rawValue, "dunning", from: subscription.state.rawValue, to: moved.state.rawValue,
                                       actor: "dunning", detail: "invoice \(label)"))
        }
        guard try await context.store.updateInvoice(next, expectedRevision: invoice.revision, subscription: subscriptionWrite, audit: audit, in: scope) else {
            return 0
        }
        next.revision = invoice.revision + 1
        for (type, data) in webhooks { await context.notify(type, data, tenant: invoice.tenantID) }
        if subscriptionWrite != nil {
            moved.revision = subscription.revision + 1
            await context.link(moved)
            await context.notify(moved.state == .canceled ? "subscription.canceled" : "subscription.updated", moved.json, tenant: invoice.tenantID)
        }
        // Several retries due at once (the run was down) make one charge, keyed by the last.
        if let attempt = retries.last { await invoices.collect(next, attempt: attempt, actor: "dunning") }
        return due.count
    }
}
