import Billing
import Core
import Metering

/// Plans' price versions, tenants' billing settings, subscriptions, invoices, credit notes and
/// the billing audit trail, behind one driver protocol. Every write that moves a subscription
/// or an invoice names the revision it read and writes its audit entries in the same
/// transaction; a write that lost a race returns `false` and changes nothing.
///
/// Methods that take `TenantScope?` serve operators with `nil` (every tenant) and tenants with
/// their own scope, which their SQL filters by.
public protocol BillingStore: Sendable {
    // MARK: Prices (platform-wide, versioned)

    /// Stores `plan` as the next version of its key (1 for a new key) and returns it so numbered.
    func insertPrices(_ plan: PricePlan, at: Int64) async throws -> PricePlan
    /// Every version of a plan's prices, oldest first.
    func priceVersions(of key: String) async throws -> [PricePlan]
    /// One version; the latest when `version` is `nil`.
    func prices(of key: String, version: Int?) async throws -> PricePlan?
    /// The latest version of every plan that has prices.
    func latestPrices() async throws -> [PricePlan]

    // MARK: Accounts

    func account(in scope: TenantScope) async throws -> BillingAccount?
    /// Several tenants' settings in one query (absent: the defaults).
    func accounts(of scopes: [TenantScope]) async throws -> [TenantID: BillingAccount]
    func setAccount(_ account: BillingAccount, in scope: TenantScope, at: Int64) async throws

    // MARK: Subscriptions

    /// Throws 409 `subscription_exists` when the tenant already has one that is not over.
    func insertSubscription(_ subscription: Subscription, audit: [BillingAuditEntry], in scope: TenantScope) async throws
    func subscription(_ id: SubscriptionID, in scope: TenantScope?) async throws -> Subscription?
    /// Newest first, after the cursor.
    func subscriptions(in scope: TenantScope?, limit: Int, before: SubscriptionID?) async throws -> [Subscription]
    /// Writes `subscription` if it is still at `expectedRevision` (the stored one gets
    /// `expectedRevision + 1`), with lines for its next invoice and audit entries.
    func updateSubscription(_ subscription: Subscription, expectedRevision: Int, pendingLines: [InvoiceDraft.Line], audit: [BillingAuditEntry],
                            in scope: TenantScope) async throws -> Bool
    /// Subscriptions with a period ended by `now` still to invoice, every tenant, soonest first.
    func dueSubscriptions(now: Int64, limit: Int) async throws -> [Subscription]
    /// Lines (proration, credits) waiting for the subscriptions' next invoices, with their ids,
    /// in one query (each read within its own tenant).
    func pendingLines(of subscriptions: [Subscription]) async throws -> [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]]

    // MARK: Billing run

    /// One billing-run step, atomically: the period's invoice (if any; a second invoice for the
    /// same subscription period is refused), the subscription moved on (revision-checked), the
    /// pending lines the invoice took, lines left for the next invoice (credit carried over),
    /// and the audit entries. `false` when another run got there first; nothing is written then.
    func recordPeriod(subscription: Subscription, expectedRevision: Int, invoice: Invoice?, consumedLines: [Int64], newPendingLines: [InvoiceDraft.Line],
                      audit: [BillingAuditEntry], in scope: TenantScope) async throws -> Bool

    /// Many billing-run steps in one transaction, all or nothing: `false` (nothing written) when
    /// any of them lost its race or its period was invoiced already; the run then writes them
    /// one by one with `recordPeriod`. Only steps without pending lines, whose invoices are
    /// drafts, are batched.
    func recordPeriods(_ records: [BillingPeriodRecord]) async throws -> Bool

    // MARK: Invoices

    func invoice(_ id: InvoiceID, in scope: TenantScope?) async throws -> Invoice?
    /// Newest first, after the cursor; optionally one status or one subscription.
    func invoices(in scope: TenantScope?, status: Invoice.Status?, subscription: SubscriptionID?, limit: Int, before: InvoiceID?) async throws -> [Invoice]
    /// Several subscriptions' invoices that are not void, with periods starting at or after
    /// `since`, in one query (each read within its own tenant); newest first per subscription.
    func invoices(of subscriptions: [Subscription], since: Int64) async throws -> [SubscriptionID: [Invoice]]
    /// Drafts whose grace period ended by `now`, every tenant.
    func dueDrafts(now: Int64, limit: Int) async throws -> [Invoice]
    /// Open invoices past due or with a failed payment by `now`, every tenant (dunning's work list).
    func invoicesInDunning(now: Int64, limit: Int) async throws -> [Invoice]
    /// Finalizes a draft: takes the next number of `prefix`-`year` (gapless: in the same
    /// transaction), writes the invoice with it if it is still at `expectedRevision`, and leaves
    /// `carry` (credit the re-rated invoice could not use) for the subscription's next invoice.
    /// `nil` when another writer got there first.
    func finalize(_ invoice: Invoice, expectedRevision: Int, prefix: String, year: Int, carry: [InvoiceDraft.Line], audit: [BillingAuditEntry],
                  in scope: TenantScope) async throws -> Invoice?
    /// Writes an invoice (status changes, dunning progress) if it is still at
    /// `expectedRevision`, and optionally its subscription (revision-checked too), with audit.
    func updateInvoice(_ invoice: Invoice, expectedRevision: Int, subscription: (Subscription, expectedRevision: Int)?, audit: [BillingAuditEntry],
                       in scope: TenantScope) async throws -> Bool

    // MARK: Credit notes

    /// Numbers and stores a credit note (ignoring `note.number`) and writes the invoice's new
    /// credited total, if the invoice is still at `expectedRevision`; `nil` otherwise.
    func insertCreditNote(_ note: CreditNote, invoice: Invoice, expectedRevision: Int, prefix: String, year: Int, audit: [BillingAuditEntry],
                          in scope: TenantScope) async throws -> CreditNote?
    func creditNotes(of invoice: InvoiceID, in scope: TenantScope?) async throws -> [CreditNote]

    // MARK: Audit

    /// A subscription's or invoice's audit trail, oldest first.
    func audit(of subjectID: String, in scope: TenantScope?) async throws -> [BillingAuditEntry]
}

/// One billing-run step for `recordPeriods`: the subscription moved on (written if still at
/// `expectedRevision`), its period's draft invoice (if any), and the audit entries.
public struct BillingPeriodRecord: Sendable {
    public var subscription: Subscription
    public var expectedRevision: Int
    public var invoice: Invoice?
    public var audit: [BillingAuditEntry]
    public var scope: TenantScope

    public init(subscription: Subscription, expectedRevision: Int, invoice: Invoice?, audit: [BillingAuditEntry], scope: TenantScope) {
        self.subscription = subscription
        self.expectedRevision = expectedRevision
        self.invoice = invoice
        self.audit = audit
        self.scope = scope
    }
}

/// Encoding shared by both billing drivers.
enum StoredBilling {
    static func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }

    static func value(_ text: String, column: String) throws -> JSONValue {
        do { return try JSONParser.parse(Array(text.utf8)) } catch { throw StorageDecodingError(column: column) }
    }

    static func prices(_ text: String) throws -> PricePlan {
        do { return try PricePlan.parse(try value(text, column: "plan_prices.document")) } catch { throw StorageDecodingError(column: "plan_prices.document") }
    }

    static func subscription(_ text: String) throws -> Subscription {
        guard let subscription = Subscription.parse(stored: try value(text, column: "subscriptions.document")) else {
            throw StorageDecodingError(column: "subscriptions.document")
        }
        return subscription
    }

    static func invoice(_ text: String) throws -> Invoice {
        guard let invoice = Invoice.parse(stored: try value(text, column: "invoices.document")) else { throw StorageDecodingError(column: "invoices.document") }
        return invoice
    }

    static func creditNote(_ text: String) throws -> CreditNote {
        guard let note = CreditNote.parse(stored: try value(text, column: "credit_notes.document")) else { throw StorageDecodingError(column: "credit_notes.document") }
        return note
    }

    static func line(_ text: String, currency: String) throws -> InvoiceDraft.Line {
        guard let currency = Currency(currency), let line = InvoiceDraft.Line.parse(try value(text, column: "billing_pending_lines.line"), currency: currency) else {
            throw StorageDecodingError(column: "billing_pending_lines.line")
        }
        return line
    }

    static func audit(_ text: String) throws -> BillingAuditEntry {
        guard let entry = BillingAuditEntry.parse(stored: try value(text, column: "billing_audit.document")) else {
            throw StorageDecodingError(column: "billing_audit.document")
        }
        return entry
    }

    static let subscriptionExists = TallyError.Code("subscription_exists", status: 409, title: "Subscription exists")

    static func exists(_ tenant: TenantID) -> TallyError {
        TallyError(subscriptionExists, "tenant \(tenant) already has a subscription that is not canceled or expired; change its plan instead", field: "tenant_id")
    }
}
