import Core
import Testing

@Suite struct WebhookSignatureTests {
    // The Standard Webhooks reference libraries' published test vector.
    let secret = WebhookSignature.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let body = Array(#"{"test": 2432232314}"#.utf8)

    @Test func signsThePublishedTestVector() {
        #expect(WebhookSignature.sign(id: id, timestamp: 1_614_265_330, body: body, secret: secret) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        // The prefix is optional when parsing.
        #expect(WebhookSignature.Secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == secret)
        #expect(secret.text == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    }

    func verify(_ signatures: String?, timestamp: String? = "1614265330", id: String? = "msg_p5jXN8AQM9LWM0D4loKWxJek", body: [UInt8]? = nil,
                secrets: [WebhookSignature.Secret]? = nil, now: Int64 = 1_614_265_330) -> WebhookSignature.Failure? {
        do {
            try WebhookSignature.verify(id: id, timestamp: timestamp, signatures: signatures, body: body ?? self.body, secrets: secrets ?? [secret], nowSeconds: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func verifiesAndRefusesLikeTheReferenceLibraries() {
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        #expect(verify(good) == nil)
        #expect(verify("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x " + good) == nil)
        #expect(verify("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=") == .noMatchingSignature)
        #expect(verify(good, body: Array(#"{"test": 2432232315}"#.utf8)) == .noMatchingSignature)
        #expect(verify(nil) == .missingHeader("webhook-signature"))
        #expect(verify(good, id: nil) == .missingHeader("webhook-id"))
        #expect(verify(good, timestamp: nil) == .missingHeader("webhook-timestamp"))
        #expect(verify(good, timestamp: "hello") == .malformedTimestamp)
        #expect(verify(good, now: 1_614_265_330 + 301) == .timestampOutsideTolerance)
        #expect(verify(good, now: 1_614_265_330 - 301) == .timestampOutsideTolerance)
        #expect(verify(good, now: 1_614_265_330 + 300) == nil)
        // Rotation: either secret verifies.
        #expect(verify(good, secrets: [WebhookSignature.Secret.generate(), secret]) == nil)
        #expect(verify(good, secrets: [WebhookSignature.Secret.generate()]) == .noMatchingSignature)
    }

    @Test func secretsMustBeBase64OfAUsefulLength() {
        #expect(WebhookSignature.Secret("whsec_not base64!") == nil)
        #expect(WebhookSignature.Secret("whsec_AAAA") == nil)
        let fresh = WebhookSignature.Secret.generate()
        #expect(fresh.key.count == 32 && WebhookSignature.Secret(fresh.text) == fresh)
        #expect(fresh != WebhookSignature.Secret.generate())
    }
}
