import Billing
import Core
import Entitlements
import Logging
import Metering
import Scheduler
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
import FoundationInternationalization
#else
import Foundation
#endif

/// What the billing services share: the stores, the entitlement link, webhooks, the payment
/// provider, the clock and the billing settings, with the helpers every one of them uses.
public struct BillingContext: Sendable {
    /// Billing settings (`TALLY_BILLING_*`).
    public struct Configuration: Sendable {
        public var finalizeGraceSeconds: Int64
        public var netDays: Int
        public var latenessDays: Int
        public var dunning: DunningPolicy
        public var invoicePrefix: String
        public var creditNotePrefix: String
        /// How many subscriptions one billing run bills at once.
        public var runConcurrency: Int

        public init(finalizeGraceSeconds: Int64 = 3_600, netDays: Int = 30, latenessDays: Int = 35, dunning: DunningPolicy = .standard,
                    invoicePrefix: String = "INV", creditNotePrefix: String = "CN", runConcurrency: Int = 8) {
            self.finalizeGraceSeconds = finalizeGraceSeconds
            self.netDays = netDays
            self.latenessDays = latenessDays
            self.dunning = dunning
            self.invoicePrefix = invoicePrefix
            self.creditNotePrefix = creditNotePrefix
            self.runConcurrency = runConcurrency
        }
    }

    let store: any BillingStore
    let ledger: any LedgerStore
    let entitlements: EntitlementService?
    let webhooks: WebhookService?
    let provider: any PaymentProvider
    /// Where charges go as `billing.collect` jobs (retried with backoff, never blocking a run);
    /// without a queue they are made inline.
    let jobs: (any JobQueue)?
    let clock: any TallyClock
    let configuration: Configuration
    let logger: Logger

    public init(
        store: any BillingStore, ledger: any LedgerStore, entitlements: EntitlementService?, webhooks: WebhookService?,
        provider: any PaymentProvider = ManualPaymentProvider(), jobs: (any JobQueue)? = nil, clock: any TallyClock = SystemClock(),
        configuration: Configuration = Configuration(), logger: Logger = Logger(label: "tally.billing")
    ) {
        self.store = store
        self.ledger = ledger
        self.entitlements = entitlements
        self.webhooks = webhooks
        self.provider = provider
        self.jobs = jobs
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// Now, in whole Unix seconds.
    var now: Int64 { clock.nowSeconds }

    /// A request's `amount`: a positive decimal string in `currency` (`whose`: the invoice's, the
    /// plan's, for the message).
    static func amount(_ fields: [String: JSONValue], in currency: Currency, whose: String) throws -> Money {
        guard case .string(let text)? = fields["amount"], let amount = Money(decimal: text, currency: currency), amount.minorUnits > 0 else {
            throw TallyError.validation("amount", "amount is a positive decimal string in \(whose) currency (\(currency.code))")
        }
        return amount
    }

    /// A request's `reason`: 1 to 500 characters, not only whitespace.
    static func reason(_ fields: [String: JSONValue]) throws -> String {
        guard case .string(let reason)? = fields["reason"], !reason.trimmingWhitespace().isEmpty, reason.count <= 500 else {
            throw TallyError.validation("reason", "reason is 1 to 500 characters")
        }
        return reason
    }

    /// `seconds` rounded up to a minute.
    static func minuteCeiling(_ seconds: Int64) -> Int64 {
        let down = EntitlementService.minute(seconds)
        return down == seconds ? seconds : down + 60
    }

    static func zone(_ name: String) -> TimeZone { TimeZone(identifier: name) ?? TimeZone(identifier: "UTC")! }

    static func isZone(_ name: String) -> Bool { TimeZone(identifier: name) != nil }

    /// The full period starting at `start` for a subscription's anchor, zone and interval.
    static func nominalEnd(of subscription: Subscription, interval: PricePlan.Interval, from start: Int64) -> Int64 {
        BillingPeriod.window(interval: interval, anchor: subscription.anchor, zone: zone(subscription.timeZone), at: start).end
    }

    func prices(_ ref: Subscription.PlanRef) async throws -> PricePlan {
        guard let plan = try await store.prices(of: ref.key, version: ref.version) else {
            throw TallyError(.internalError, "the plan's prices are missing", context: "no plan_prices row for \(ref.key) v\(ref.version)")
        }
        return plan
    }

    /// The meters' totals (and, for percentage charges, each event's value) over `[start, end)`.
    func usage(for plan: PricePlan, from start: Int64, to end: Int64, in scope: TenantScope) async throws -> (totals: [String: Quantity], values: [String: [Quantity]]) {
        let catalog = try await ledger.meterCatalog(in: scope)
        var totals: [String: Quantity] = [:]
        var values: [String: [Quantity]] = [:]
        for charge in plan.charges {
            guard let slug = charge.meter, totals[slug] == nil, values[slug] == nil else { continue }
            guard let meter = catalog.meter(slug) else {
                totals[slug] = .zero
                continue
            }
            if case .percentage = charge.model {
                let events = try await ledger.events(in: scope, type: meter.eventType, from: start * 1_000_000, to: end * 1_000_000)
                values[slug] = events.compactMap { event in
                    if case .success(let reading)? = meter.reading(of: event), case .number(let value) = reading.value { return value }
                    return nil
                }
            } else {
                totals[slug] = try await EntitlementService.usage(of: meter, in: PeriodWindow(start: start, end: end, resetsAt: end), now: end, scope: scope, ledger: ledger)
            }
        }
        return (totals, values)
    }

    func audit(_ tenant: TenantID, _ subject: BillingAuditEntry.Subject, _ id: String, _ action: String, from: String?, to: String?, actor: String,
               detail: String = "") -> BillingAuditEntry {
        BillingAuditEntry(at: now, tenantID: tenant, subject: subject, subjectID: id, action: action, from: from, to: to, actor: actor, detail: detail)
    }

    /// Points the tenant's entitlements at what its subscription now entitles it to.
    func link(_ subscription: Subscription) async {
        guard let entitlements else { return }
        let plan = subscription.state.isEntitled ? subscription.plan.key : nil
        do {
            try await entitlements.link(plan: plan, anchor: subscription.anchor, in: TenantScope(operatorActingOn: subscription.tenantID))
        } catch {
            logger.error("billing could not update the tenant's entitlements", metadata: ["tenant": "\(subscription.tenantID)", "error": "\(error)"])
        }
    }

    /// Sends a billing webhook; a failure to enqueue is logged, never fails the billing step
    /// (the step is already committed).
    func notify(_ type: String, _ data: JSONValue, tenant: TenantID) async {
        guard let webhooks else { return }
        do {
            try await webhooks.send(type: type, data: data, in: TenantScope(operatorActingOn: tenant))
        } catch {
            logger.error("billing webhook not sent", metadata: ["type": "\(type)", "tenant": "\(tenant)", "error": "\(error)"])
        }
    }

    /// The UTC year of an instant, for invoice numbers.
    static func year(_ seconds: Int64) -> Int { CivilDate.civil(fromDays: Int((seconds >= 0 ? seconds : seconds - 86_399) / 86_400)).year }
}
