import Billing
import Core
import Metering
import Scheduler
import Storage

/// Invoices after the billing run wrote them: reading (JSON and a printable page), marking
/// paid, voiding, credit notes, and payments the provider reports. A payment that settles the
/// last failed invoice of a subscription in dunning reactivates it (and its entitlements).
public struct InvoiceService: Sendable {
    let context: BillingContext

    public init(context: BillingContext) {
        self.context = context
    }

    /// The payment provider in use (its callback route verifies with it).
    public var provider: any PaymentProvider { context.provider }

    /// Now, in Unix seconds, by the billing clock.
    public var nowSeconds: Int64 { context.now }

    public func invoice(_ id: InvoiceID, in scope: TenantScope?) async throws -> Invoice {
        guard let invoice = try await context.store.invoice(id, in: scope) else { throw TallyError(.notFound, "no invoice \(id)") }
        return invoice
    }

    public func invoices(in scope: TenantScope?, status: Invoice.Status?, subscription: SubscriptionID?, limit: Int, before: InvoiceID?) async throws -> [Invoice] {
        try await context.store.invoices(in: scope, status: status, subscription: subscription, limit: limit, before: before)
    }

    public func creditNotes(of id: InvoiceID, in scope: TenantScope?) async throws -> [CreditNote] {
        _ = try await invoice(id, in: scope)
        return try await context.store.creditNotes(of: id, in: scope)
    }

    /// Marks an open invoice paid (collected by hand, or reported by the provider).
    public func markPaid(_ id: InvoiceID, reference: String?, in scope: TenantScope?, actor: String) async throws -> Invoice {
        let current = try await invoice(id, in: scope)
        guard current.status == .open else {
            throw TallyError(.conflict, current.status == .draft ? "invoice \(id) is still a draft; it can be paid once finalized" : "invoice \(id) is \(current.status.rawValue)")
        }
        var next = current
        next.status = .paid
        next.paidAt = context.now
        next.paymentReference = reference ?? next.paymentReference
        return try await settle(current, as: next, action: "paid", actor: actor, event: "invoice.paid")
    }

    /// Voids a draft or open invoice: it is not owed; its number (if it has one) stays used.
    public func void(_ id: InvoiceID, reason: String?, in scope: TenantScope?, actor: String) async throws -> Invoice {
        let current = try await invoice(id, in: scope)
        guard current.status == .draft || current.status == .open else { throw TallyError(.conflict, "invoice \(id) is \(current.status.rawValue); only drafts and open invoices can be voided") }
        var next = current
        next.status = .void
        next.voidedAt = context.now
        return try await settle(current, as: next, action: "voided", actor: actor, event: "invoice.voided", detail: reason ?? "")
    }

    /// Credits part or all of a finalized invoice. An open invoice credited in full is settled.
    public func creditNote(_ id: InvoiceID, _ json: JSONValue, in scope: TenantScope?, actor: String) async throws -> CreditNote {
        guard case .object(let fields) = json else { throw TallyError.validation("", "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { $0 != "amount" && $0 != "reason" }) {
            throw TallyError.validation(unknown, "unknown member; a credit note takes amount and reason")
        }
        let current = try await invoice(id, in: scope)
        let amount = try BillingContext.amount(fields, in: current.currency, whose: "the invoice's")
        let reason = try BillingContext.reason(fields)
        guard current.status == .open || current.status == .paid else {
            throw TallyError(.conflict, "invoice \(id) is \(current.status.rawValue); credit notes correct finalized invoices (void a draft instead)")
        }
        guard amount.minorUnits <= current.total.minorUnits - current.credited.minorUnits else {
            throw TallyError.validation("amount", "amount exceeds what is left to credit on the invoice (\(Money(minorUnits: current.total.minorUnits - current.credited.minorUnits, currency: current.currency).decimalString))")
        }
        var next = current
        next.credited = Money(minorUnits: current.credited.minorUnits + amount.minorUnits, currency: current.currency)
        let now = context.now
        let note = CreditNote(id: CreditNoteID.generate(at: context.clock.now()), tenantID: current.tenantID, invoiceID: id, number: "",
                              amount: amount, reason: reason, createdAt: now)
        let entry = context.audit(current.tenantID, .invoice, id.rawValue, "credited", from: current.status.rawValue, to: next.status.rawValue, actor: actor,
                                  detail: "\(amount) (\(reason))")
        guard let stored = try await context.store.insertCreditNote(
            note, invoice: next, expectedRevision: current.revision, prefix: context.configuration.creditNotePrefix, year: BillingContext.year(now),
            audit: [entry], in: TenantScope(operatorActingOn: current.tenantID)
        ) else { throw TallyError(.conflict, "invoice \(id) changed meanwhile; read it again and retry") }
        await context.notify("credit_note.created", stored.json, tenant: current.tenantID)
        next.revision = current.revision + 1
        if next.status == .open, next.amountDue.minorUnits == 0 {
            _ = try? await markPaid(id, reference: "credited by \(stored.number)", in: nil, actor: actor)
        }
        return stored
    }

    /// Records a failed payment: dunning counts from the first failure, and the subscription
    /// goes `past_due`.
    public func paymentFailed(_ id: InvoiceID, reason: String, actor: String) async throws {
        let current = try await invoice(id, in: nil)
        guard current.status == .open else { return }
        var next = current
        if next.paymentFailedAt == nil { next.paymentFailedAt = context.now }
        let scope = TenantScope(operatorActingOn: current.tenantID)
        var audit = [context.audit(current.tenantID, .invoice, id.rawValue, "payment_failed", from: current.status.rawValue, to: next.status.rawValue, actor: actor, detail: reason)]
        var subscriptionWrite: (Subscription, expectedRevision: Int)?
        if let subscription = try await context.store.subscription(current.subscriptionID, in: scope),
           let (write, entry) = move(subscription, on: .paymentFails, action: "payment_failed", actor: actor, detail: "invoice \(current.number ?? id.rawValue)") {
            subscriptionWrite = write
            audit.append(entry)
        }
        guard try await context.store.updateInvoice(next, expectedRevision: current.revision, subscription: subscriptionWrite, audit: audit, in: scope) else {
            throw TallyError(.conflict, "invoice \(id) changed meanwhile")
        }
        await context.notify("invoice.payment_failed", next.json, tenant: current.tenantID)
        if let (moved, _) = subscriptionWrite { await context.notify("subscription.updated", moved.json, tenant: current.tenantID) }
    }

    /// Applies a verified provider callback.
    public func apply(_ event: PaymentEvent) async throws {
        guard let id = InvoiceID(event.invoiceID) else { throw TallyError.validation("invoice_id", "invoice_id is not an invoice id") }
        let actor = "provider:\(context.provider.name)"
        switch event.outcome {
        case .succeeded(let reference):
            let current = try await invoice(id, in: nil)
            guard current.status == .open else { return }  // a repeated callback changes nothing
            _ = try await markPaid(id, reference: reference, in: nil, actor: actor)
        case .failed(let reason):
            try await paymentFailed(id, reason: reason, actor: actor)
        case .pending:
            return
        }
    }

    /// Asks the provider for an open invoice's amount: as a `billing.collect` job when there is a
    /// queue (a slow or failing gateway is retried with backoff and never holds up a billing
    /// run), inline otherwise. The manual provider charges nothing, so nothing is asked.
    func collect(_ invoice: Invoice, attempt: Int, actor: String) async {
        guard invoice.status == .open, invoice.amountDue.minorUnits > 0, context.provider.name != ManualPaymentProvider().name else { return }
        do {
            if let jobs = context.jobs {
                let args = JSONValue.object(["invoice_id": .string(invoice.id.rawValue), "attempt": .number(Double(attempt))])
                let spec = JobSpec(kind: BillingCollectJob.jobKind, tenant: invoice.tenantID, args: String(decoding: JSONWriter.encode(args), as: UTF8.self),
                                   uniqueKey: "\(BillingCollectJob.jobKind):\(invoice.id.rawValue):\(attempt)")
                _ = try await jobs.enqueue([spec], nowMillis: context.clock.nowMillis)
            } else {
                try await charge(invoice.id, attempt: attempt, actor: actor)
            }
        } catch {
            context.logger.error("charging an invoice failed", metadata: ["invoice": "\(invoice.id)", "error": "\(error)"])
        }
    }

    /// Charges an open invoice's amount due through the provider and applies the answer; the
    /// request is keyed by invoice and attempt, so a repeat never charges twice.
    public func charge(_ id: InvoiceID, attempt: Int, actor: String) async throws {
        let invoice = try await invoice(id, in: nil)
        guard invoice.status == .open, invoice.amountDue.minorUnits > 0 else { return }
        let request = PaymentRequest(invoiceID: invoice.id.rawValue, invoiceNumber: invoice.number ?? invoice.id.rawValue, tenant: invoice.tenantID,
                                     amount: invoice.amountDue, idempotencyKey: "\(invoice.id.rawValue)-charge-\(attempt)")
        switch try await context.provider.charge(request) {
        case .succeeded(let reference): _ = try await markPaid(invoice.id, reference: reference, in: nil, actor: actor)
        case .failed(let reason): try await paymentFailed(invoice.id, reason: reason, actor: actor)
        case .pending: break
        }
    }

    /// A subscription moved by `event` (stamped now) with its audit entry; `nil` when the state
    /// machine refuses the event or it changes nothing.
    private func move(_ subscription: Subscription, on event: SubscriptionStateMachine.Event, action: String, actor: String, detail: String)
        -> ((Subscription, expectedRevision: Int), BillingAuditEntry)? {
        guard let state = SubscriptionStateMachine.next(from: subscription.state, on: event), state != subscription.state else { return nil }
        var moved = subscription
        moved.state = state
        moved.updatedAt = context.now
        let entry = context.audit(subscription.tenantID, .subscription, subscription.id.rawValue, action, from: subscription.state.rawValue,
                                  to: state.rawValue, actor: actor, detail: detail)
        return ((moved, subscription.revision), entry)
    }

    /// Writes a settled invoice (paid or void) and, when it was the last failed invoice of a
    /// subscription in dunning, reactivates the subscription in the same transaction.
    private func settle(_ current: Invoice, as next: Invoice, action: String, actor: String, event: String, detail: String = "") async throws -> Invoice {
        let scope = TenantScope(operatorActingOn: current.tenantID)
        var audit = [context.audit(current.tenantID, .invoice, current.id.rawValue, action, from: current.status.rawValue, to: next.status.rawValue, actor: actor, detail: detail)]
        var subscriptionWrite: (Subscription, expectedRevision: Int)?
        if let subscription = try await context.store.subscription(current.subscriptionID, in: scope),
           SubscriptionStateMachine.next(from: subscription.state, on: .paymentSucceeds) != nil {
            let others = try await context.store.invoices(in: scope, status: .open, subscription: subscription.id, limit: 1_000, before: nil)
            if !others.contains(where: { $0.id != current.id && $0.paymentFailedAt != nil && $0.amountDue.minorUnits > 0 }),
               let (write, entry) = move(subscription, on: .paymentSucceeds, action: "reactivated", actor: actor,
                                         detail: "invoice \(current.number ?? current.id.rawValue) \(action)") {
                subscriptionWrite = write
                audit.append(entry)
            }
        }
        guard try await context.store.updateInvoice(next, expectedRevision: current.revision, subscription: subscriptionWrite, audit: audit, in: scope) else {
            throw TallyError(.conflict, "invoice \(current.id) changed meanwhile; read it again and retry")
        }
        var stored = next
        stored.revision = current.revision + 1
        await context.notify(event, stored.json, tenant: current.tenantID)
        if let (moved, _) = subscriptionWrite {
            await context.link(moved)
            await context.notify("subscription.updated", moved.json, tenant: current.tenantID)
        }
        return stored
    }
}
