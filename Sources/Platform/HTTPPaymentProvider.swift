import AsyncHTTPClient
import Billing
import Core
import NIOCore

/// A generic payment provider over HTTP, for gateways an operator runs or adapts: Tally POSTs
/// `{invoice_id, invoice_number, tenant_id, amount, currency, idempotency_key}` to
/// `<base>/charges` or `<base>/refunds`, signed per Standard Webhooks with the shared secret
/// (`webhook-id` is the idempotency key, so the gateway can dedupe), and reads
/// `{"status": "succeeded"|"failed"|"pending", "reference", "reason"}`. Callbacks come back
/// signed with the same secret: `{invoice_id, status, reference, reason}`.
public struct HTTPPaymentProvider: PaymentProvider {
    public let name = "http"
    let base: String
    let secret: WebhookSignature.Secret
    let http: HTTPClient
    let clock: any TallyClock

    public init(base: String, secret: WebhookSignature.Secret, http: HTTPClient, clock: any TallyClock = SystemClock()) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.secret = secret
        self.http = http
        self.clock = clock
    }

    public func charge(_ request: PaymentRequest) async throws -> PaymentOutcome { try await send(request, to: "charges") }
    public func refund(_ request: PaymentRequest) async throws -> PaymentOutcome { try await send(request, to: "refunds") }

    private func send(_ payment: PaymentRequest, to path: String) async throws -> PaymentOutcome {
        let body = JSONWriter.encode(.object([
            "invoice_id": .string(payment.invoiceID), "invoice_number": .string(payment.invoiceNumber), "tenant_id": .string(payment.tenant.rawValue),
            "amount": .string(payment.amount.decimalString), "currency": .string(payment.amount.currency.code), "idempotency_key": .string(payment.idempotencyKey),
        ]))
        let timestamp = Int64(clock.now().timeIntervalSince1970)
        var request = HTTPClientRequest(url: "\(base)/\(path)")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "webhook-id", value: payment.idempotencyKey)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: WebhookSignature.sign(id: payment.idempotencyKey, timestamp: timestamp, body: body, secret: secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1_048_576)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw TallyError(.unavailable, "the payment gateway answered \(response.status.code)")
        }
        return try Self.outcome(JSONParser.parse(bytes.readableBytesView))
    }

    public func parseCallback(headers: [String: String], body: [UInt8], nowSeconds: Int64) throws -> PaymentEvent {
        do {
            try WebhookSignature.verify(id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], signatures: headers["webhook-signature"],
                                        body: body, secrets: [secret], nowSeconds: nowSeconds)
        } catch {
            throw TallyError(.invalidSignature, error.description)
        }
        guard case .object(let fields) = try JSONParser.parse(body), case .string(let invoice)? = fields["invoice_id"] else {
            throw TallyError.validation("invoice_id", "the callback names no invoice_id")
        }
        return PaymentEvent(invoiceID: invoice, outcome: try Self.outcome(.object(fields)))
    }

    static func outcome(_ value: JSONValue) throws -> PaymentOutcome {
        guard case .object(let fields) = value, case .string(let status)? = fields["status"] else {
            throw TallyError.validation("status", "the gateway's answer has no status")
        }
        var reference: String?
        if case .string(let text)? = fields["reference"] { reference = text }
        switch status {
        case "succeeded":
            guard let reference else { throw TallyError.validation("reference", "a succeeded payment carries its reference") }
            return .succeeded(reference: reference)
        case "failed":
            var reason = "declined"
            if case .string(let text)? = fields["reason"] { reason = text }
            return .failed(reason: reason)
        case "pending": return .pending(reference: reference)
        default: throw TallyError.validation("status", "status is succeeded, failed or pending")
        }
    }
}
