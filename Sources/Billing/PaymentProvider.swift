import Core

/// Where money is collected. Tally ships the manual provider (the default: invoices await
/// collection and an operator marks them paid) and a generic HTTP provider; no vendor SDK.
public protocol PaymentProvider: Sendable {
    /// The name invoices and logs record.
    var name: String { get }
    /// Asks for an invoice's amount.
    func charge(_ request: PaymentRequest) async throws -> PaymentOutcome
    /// Gives money back (all or part of a paid invoice).
    func refund(_ request: PaymentRequest) async throws -> PaymentOutcome
    /// Reads a provider's callback (a payment settled or failed later), verifying it first.
    func parseCallback(headers: [String: String], body: [UInt8], nowSeconds: Int64) throws -> PaymentEvent
}

/// One charge or refund.
public struct PaymentRequest: Sendable, Equatable {
    public var invoiceID: String
    public var invoiceNumber: String
    public var tenant: TenantID
    public var amount: Money
    /// Repeating a request with the same key must not charge twice (providers dedupe by it).
    public var idempotencyKey: String

    public init(invoiceID: String, invoiceNumber: String, tenant: TenantID, amount: Money, idempotencyKey: String) {
        self.invoiceID = invoiceID
        self.invoiceNumber = invoiceNumber
        self.tenant = tenant
        self.amount = amount
        self.idempotencyKey = idempotencyKey
    }
}

/// What a provider answered.
public enum PaymentOutcome: Sendable, Equatable {
    /// Collected (the provider's reference).
    case succeeded(reference: String)
    /// Refused (a reason to show and to decide dunning on).
    case failed(reason: String)
    /// Not settled yet: a callback (or an operator) will say.
    case pending(reference: String?)
}

/// A provider's callback, verified.
public struct PaymentEvent: Sendable, Equatable {
    public var invoiceID: String
    public var outcome: PaymentOutcome

    public init(invoiceID: String, outcome: PaymentOutcome) {
        self.invoiceID = invoiceID
        self.outcome = outcome
    }
}
