import AsyncHTTPClient
import Billing
import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Synchronization
import Testing

/// The generic HTTP payment provider against a real gateway on 127.0.0.1 that verifies Tally's
/// signature and answers as the test tells it; callbacks verified the same way.
@Suite struct PaymentProviderTests {
    let secret = WebhookSignature.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let usd = Currency("USD")!

    @Test func chargesAreSignedAndTheirOutcomesRead() async throws {
        let seen = Mutex<[[String: String]]>([])
        let answer = Mutex<(HTTPResponse.Status, String)>((.ok, #"{"status": "succeeded", "reference": "ch_1"}"#))
        let router = Router()
        let secret = self.secret
        router.post("pay/:action") { request, context -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 65_536))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            // The gateway checks it is Tally calling.
            let verified = (try? WebhookSignature.verify(id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], signatures: headers["webhook-signature"],
                                                         body: body, secrets: [secret], nowSeconds: Int64(Date().timeIntervalSince1970))) != nil
            var record = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: String]) ?? [:]
            record["action"] = context.parameters.get("action")
            record["verified"] = String(verified)
            seen.withLock { $0.append(record) }
            let (status, text) = answer.withLock { $0 }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = HTTPPaymentProvider(base: "http://127.0.0.1:\(client.port!)/pay/", secret: secret, http: http)
            let request = PaymentRequest(invoiceID: "inv_1", invoiceNumber: "INV-2026-000001", tenant: .generate(),
                                         amount: Money(minorUnits: 12_345, currency: usd), idempotencyKey: "charge-inv_1-1")
            #expect(try await provider.charge(request) == .succeeded(reference: "ch_1"))
            // The default provider charges nothing: the invoice awaits manual collection.
            #expect(try await ManualPaymentProvider().charge(request) == .pending(reference: nil))
            answer.withLock { $0 = (.ok, #"{"status": "failed", "reason": "card declined"}"#) }
            #expect(try await provider.charge(request) == .failed(reason: "card declined"))
            answer.withLock { $0 = (.ok, #"{"status": "pending"}"#) }
            #expect(try await provider.refund(request) == .pending(reference: nil))
            answer.withLock { $0 = (.serviceUnavailable, "{}") }
            await #expect(throws: TallyError.self) { try await provider.charge(request) }
            answer.withLock { $0 = (.ok, #"{"status": "succeeded"}"#) }
            await #expect(throws: TallyError.self) { try await provider.charge(request) }  // success without a reference

            let records = seen.withLock { $0 }
            #expect(records.count == 5 && records.allSatisfy { $0["verified"] == "true" })
            #expect(records[0]["amount"] == "123.45" && records[0]["currency"] == "USD" && records[0]["action"] == "charges")
            #expect(records[0]["idempotency_key"] == "charge-inv_1-1" && records[2]["action"] == "refunds")
            try await http.shutdown()
        }
    }

    @Test func callbacksAreVerifiedBeforeTheyAreRead() throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { try? http.syncShutdown() }
        let provider = HTTPPaymentProvider(base: "http://127.0.0.1:9", secret: secret, http: http)
        let body = Array(#"{"invoice_id": "inv_7", "status": "succeeded", "reference": "ch_9"}"#.utf8)
        let now: Int64 = 1_800_000_000
        func headers(_ key: WebhookSignature.Secret, at: Int64) -> [String: String] {
            ["webhook-id": "evt_1", "webhook-timestamp": String(at), "webhook-signature": WebhookSignature.sign(id: "evt_1", timestamp: at, body: body, secret: key)]
        }
        #expect(try provider.parseCallback(headers: headers(secret, at: now), body: body, nowSeconds: now) == PaymentEvent(invoiceID: "inv_7", outcome: .succeeded(reference: "ch_9")))
        #expect(throws: TallyError.self) { try provider.parseCallback(headers: headers(.generate(), at: now), body: body, nowSeconds: now) }
        #expect(throws: TallyError.self) { try provider.parseCallback(headers: headers(secret, at: now - 600), body: body, nowSeconds: now) }
        #expect(throws: TallyError.self) { try ManualPaymentProvider().parseCallback(headers: [:], body: body, nowSeconds: now) }
    }
}
