import Core

/// The default provider: nothing is charged automatically. Issued invoices await manual
/// collection, and an operator marks them paid (`POST /v1/invoices/{id}/mark-paid`).
public struct ManualPaymentProvider: PaymentProvider {
    public let name = "manual"
    public init() {}

    public func charge(_ request: PaymentRequest) async throws -> PaymentOutcome { .pending(reference: nil) }
    public func refund(_ request: PaymentRequest) async throws -> PaymentOutcome { .pending(reference: nil) }
    public func parseCallback(headers: [String: String], body: [UInt8], nowSeconds: Int64) throws -> PaymentEvent {
        throw TallyError(.notFound, "the manual payment provider takes no callbacks")
    }
}
