import Core
import Metering

/// One subscription period's invoice. A `draft` can still change (the billing run re-rates it
/// when it finalizes, so usage booked in the grace period counts); finalizing gives it a
/// gapless number and makes it immutable; after that only its status moves (`open` → `paid`
/// or `void`) and corrections are credit notes.
public struct Invoice: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable, CaseIterable {
        /// Written by the billing run; re-rated and numbered when the grace period ends.
        case draft
        /// Finalized and issued: immutable, awaiting payment.
        case open
        case paid
        /// Canceled after finalization; its number stays used.
        case void
    }

    public var id: InvoiceID
    public var tenantID: TenantID
    public var subscriptionID: SubscriptionID
    /// `INV-2026-000123`, given at finalization.
    public var number: String?
    public var status: Status
    public var plan: Subscription.PlanRef
    public var currency: Currency
    public var periodStart: Int64
    public var periodEnd: Int64
    /// Where the period would have ended had it run its course (later than `periodEnd` when the
    /// subscription was canceled mid-period: flat fees are then prorated).
    public var fullPeriodEnd: Int64
    public var lines: [InvoiceDraft.Line]
    public var subtotal: Money
    public var tax: Money
    public var total: Money
    /// The sum of the credit notes against this invoice.
    public var credited: Money
    public var createdAt: Int64
    /// When the draft is finalized.
    public var finalizeAt: Int64
    public var finalizedAt: Int64?
    public var dueAt: Int64?
    public var paidAt: Int64?
    public var voidedAt: Int64?
    /// When payment first failed or the invoice went overdue: dunning counts from here.
    public var paymentFailedAt: Int64?
    /// How many of the dunning policy's steps were carried out.
    public var dunningDone: Int
    /// Every step of the dunning schedule was carried out: dunning no longer looks at it.
    public var dunningFinished: Bool
    /// The provider's payment id, or the operator's note when marked paid by hand.
    public var paymentReference: String?
    /// Bumped by every write; writes name the revision they read (optimistic concurrency).
    public var revision: Int

    public init(
        id: InvoiceID, tenantID: TenantID, subscriptionID: SubscriptionID, number: String? = nil, status: Status, plan: Subscription.PlanRef,
        periodStart: Int64, periodEnd: Int64, fullPeriodEnd: Int64? = nil, draft: InvoiceDraft, credited: Money? = nil, createdAt: Int64, finalizeAt: Int64,
        finalizedAt: Int64? = nil, dueAt: Int64? = nil, paidAt: Int64? = nil, voidedAt: Int64? = nil, paymentFailedAt: Int64? = nil,
        dunningDone: Int = 0, dunningFinished: Bool = false, paymentReference: String? = nil, revision: Int = 1
    ) {
        self.id = id
        self.tenantID = tenantID
        self.subscriptionID = subscriptionID
        self.number = number
        self.status = status
        self.plan = plan
        self.currency = draft.currency
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.fullPeriodEnd = fullPeriodEnd ?? periodEnd
        self.lines = draft.lines
        self.subtotal = draft.subtotal
        self.tax = draft.tax
        self.total = draft.total
        self.credited = credited ?? .zero(draft.currency)
        self.createdAt = createdAt
        self.finalizeAt = finalizeAt
        self.finalizedAt = finalizedAt
        self.dueAt = dueAt
        self.paidAt = paidAt
        self.voidedAt = voidedAt
        self.paymentFailedAt = paymentFailedAt
        self.dunningDone = dunningDone
        self.dunningFinished = dunningFinished
        self.paymentReference = paymentReference
        self.revision = revision
    }

    /// Replaces the lines and totals (a draft re-rated before finalization).
    public mutating func apply(_ draft: InvoiceDraft) {
        lines = draft.lines
        subtotal = draft.subtotal
        tax = draft.tax
        total = draft.total
    }

    /// When dunning starts looking at the invoice: the earlier of its due date and its first
    /// failed payment, while it is open and its schedule is not finished; `nil` otherwise.
    public var dunningAt: Int64? {
        guard status == .open, !dunningFinished else { return nil }
        switch (dueAt, paymentFailedAt) {
        case (let due?, let failed?): return min(due, failed)
        case (let due?, nil): return due
        case (nil, let failed?): return failed
        case (nil, nil): return nil
        }
    }

    /// What is still owed: the total less credit notes, never below zero; zero unless open.
    public var amountDue: Money {
        guard status == .open else { return .zero(currency) }
        return Money(minorUnits: max(0, total.minorUnits - credited.minorUnits), currency: currency)
    }

    public var json: JSONValue {
        .object([
            "id": .string(id.rawValue), "tenant_id": .string(tenantID.rawValue), "subscription_id": .string(subscriptionID.rawValue),
            "number": number.map(JSONValue.string) ?? .null, "status": .string(status.rawValue), "plan": .string(plan.key),
            "plan_version": .number(Double(plan.version)), "currency": .string(currency.code),
            "period_start": RFC3339.json(seconds: periodStart), "period_end": RFC3339.json(seconds: periodEnd),
            "full_period_end": RFC3339.json(seconds: fullPeriodEnd), "lines": .array(lines.map(\.json)), "subtotal": .string(subtotal.decimalString), "tax": .string(tax.decimalString),
            "total": .string(total.decimalString), "credited": .string(credited.decimalString), "amount_due": .string(amountDue.decimalString),
            "created_at": RFC3339.json(seconds: createdAt), "finalize_at": RFC3339.json(seconds: finalizeAt),
            "finalized_at": RFC3339.json(seconds: finalizedAt), "due_at": RFC3339.json(seconds: dueAt), "paid_at": RFC3339.json(seconds: paidAt),
            "voided_at": RFC3339.json(seconds: voidedAt), "payment_failed_at": RFC3339.json(seconds: paymentFailedAt),
            "dunning_steps_done": .number(Double(dunningDone)), "dunning_finished": .bool(dunningFinished), "payment_reference": paymentReference.map(JSONValue.string) ?? .null,
            "revision": .number(Double(revision)),
        ])
    }

    /// Reads `json` back; `nil` for a document this module did not write.
    public static func parse(stored value: JSONValue) -> Invoice? {
        guard let f = DocumentFields(value), let id = f.text("id").flatMap(InvoiceID.init), let tenant = f.text("tenant_id").flatMap(TenantID.init),
              let subscription = f.text("subscription_id").flatMap(SubscriptionID.init), let status = f.text("status").flatMap(Status.init),
              let planKey = f.text("plan"), let planVersion = f.int("plan_version"), let currency = f.text("currency").flatMap(Currency.init),
              let start = f.seconds("period_start"), let end = f.seconds("period_end"), let lineValues = f.array("lines"),
              let subtotal = f.money("subtotal", currency), let tax = f.money("tax", currency), let total = f.money("total", currency),
              let credited = f.money("credited", currency), let created = f.seconds("created_at"), let finalizeAt = f.seconds("finalize_at")
        else { return nil }
        let lines = lineValues.compactMap { InvoiceDraft.Line.parse($0, currency: currency) }
        guard lines.count == lineValues.count else { return nil }
        return Invoice(
            id: id, tenantID: tenant, subscriptionID: subscription, number: f.text("number"), status: status,
            plan: Subscription.PlanRef(key: planKey, version: planVersion), periodStart: start, periodEnd: end,
            fullPeriodEnd: f.seconds("full_period_end") ?? end,
            draft: InvoiceDraft(stored: currency, lines: lines, subtotal: subtotal, tax: tax, total: total), credited: credited, createdAt: created,
            finalizeAt: finalizeAt, finalizedAt: f.seconds("finalized_at"), dueAt: f.seconds("due_at"), paidAt: f.seconds("paid_at"),
            voidedAt: f.seconds("voided_at"), paymentFailedAt: f.seconds("payment_failed_at"), dunningDone: f.int("dunning_steps_done") ?? 0,
            dunningFinished: f.bool("dunning_finished") ?? false,
            paymentReference: f.text("payment_reference"), revision: f.int("revision") ?? 1
        )
    }
}
