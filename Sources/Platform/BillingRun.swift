import Billing
import Core
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

        public var json: JSONValue {
            .object([
                "invoiced": .number(Double(invoiced)), "trials_ended": .number(Double(trialsEnded)), "canceled": .number(Double(canceled)),
                "finalized": .number(Double(finalized)), "dunning_steps": .number(Double(dunningSteps)), "lost_races": .number(Double(lostRaces)),
                "failures": .number(Double(failures)),
            ])
        }
    }

    static let actor = "billing-run"
    static let pageSize = 200

    let context: BillingContext
    let invoices: InvoiceService

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

    func billPeriods(_ report: inout Report) async throws {
        var seen = Set<String>()
        while true {
            let now = context.now
            let fresh = try await context.store.dueSubscriptions(now: now, limit: Self.pageSize).filter { !seen.contains("\($0.id)@\($0.periodStart)") }
            if fresh.isEmpty { return }
            for subscription in fresh {
                seen.insert("\(subscription.id)@\(subscription.periodStart)")
                do {
                    try await bill(subscription, now: now, report: &report)
                } catch {
                    report.failures += 1
                    context.logger.error("billing a subscription period failed", metadata: ["subscription": "\(subscription.id)", "error": "\(error)"])
                }
            }
        }
    }

    /// Invoices one ended period (none for a trial) and moves the subscription on.
    func bill(_ subscription: Subscription, now: Int64, report: inout Report) async throws {
        let scope = TenantScope(operatorActingOn: subscription.tenantID)
        let plan = try await context.prices(subscription.plan)
        var next = subscription
        next.updatedAt = now
        var audit: [BillingAuditEntry] = []
        var invoice: Invoice?
        var consumed: [Int64] = []
        if !subscription.inTrial {
            let fullEnd = subscription.state.isFinal
                ? BillingContext.nominalEnd(of: subscription, interval: plan.interval, from: subscription.periodStart) : subscription.periodEnd
            let usage = try await context.usage(for: plan, from: subscription.periodStart, to: subscription.periodEnd, in: scope)
            let pending = try await context.store.pendingLines(of: subscription.id, in: scope)
            let late = try await lateUsage(of: subscription, plan: plan, now: now, in: scope)
            let account = try await context.store.account(in: scope) ?? BillingAccount()
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
                let target = try await context.prices(pending)
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
        guard try await context.store.recordPeriod(subscription: next, expectedRevision: subscription.revision, invoice: invoice, consumedLines: consumed,
                                                   audit: audit, in: scope) else {
            report.lostRaces += 1
            return
        }
        next.revision = subscription.revision + 1
        if invoice != nil { report.invoiced += 1 }
        if subscription.inTrial && next.state == .active { report.trialsEnded += 1 }
        if next.state == .canceled && subscription.state != .canceled { report.canceled += 1 }
        if let invoice { await context.notify("invoice.created", invoice.json, tenant: subscription.tenantID) }
        if next.state != subscription.state || next.plan != subscription.plan { await context.link(next) }
        if let event { await context.notify(event, next.json, tenant: subscription.tenantID) }
    }

    /// Adjustment lines for usage booked after earlier periods of this subscription were
    /// finalized, within the lateness horizon. Periods on another currency are left out.
    func lateUsage(of subscription: Subscription, plan: PricePlan, now: Int64, in scope: TenantScope) async throws -> [InvoiceDraft.Line] {
        let horizon = now - Int64(context.configuration.latenessDays) * 86_400
        let earlier = try await context.store.invoices(in: scope, status: nil, subscription: subscription.id, limit: 100, before: nil).filter { $0.status != .void }
        let lines = earlier.flatMap(\.lines)
        var adjustments: [InvoiceDraft.Line] = []
        for invoice in earlier where (invoice.status == .open || invoice.status == .paid) && invoice.periodEnd > horizon {
            let billedPlan = try await context.prices(invoice.plan)
            guard billedPlan.currency == plan.currency else { continue }
            let usage = try await context.usage(for: billedPlan, from: invoice.periodStart, to: invoice.periodEnd, in: scope)
            adjustments += PeriodRating.lateUsage(plan: billedPlan, periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, usage: usage.totals,
                                                  eventValues: usage.values, billed: lines.filter { $0.periodStart == invoice.periodStart })
        }
        return adjustments
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
        let plan = try await context.prices(draft.plan)
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
        guard let stored = try await context.store.finalize(invoice, expectedRevision: draft.revision, prefix: context.configuration.invoicePrefix,
                                                            year: BillingContext.year(now), audit: [entry], in: scope) else { return nil }
        await context.notify("invoice.finalized", stored.json, tenant: draft.tenantID)
        return stored
    }

    // MARK: Dunning

    func dun(_ report: inout Report) async throws {
        for invoice in try await context.store.invoicesInDunning(now: context.now, limit: 1_000) where invoice.amountDue.minorUnits > 0 {
            do {
                report.dunningSteps += try await dun(invoice)
            } catch {
                report.failures += 1
                context.logger.error("a dunning step failed", metadata: ["invoice": "\(invoice.id)", "error": "\(error)"])
            }
        }
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
