import Core
import Testing

@Suite struct WebhookEndpointTests {
    func endpoint() -> WebhookEndpoint {
        WebhookEndpoint(id: .generate(), tenant: .generate(), url: "https://example.com/hook", description: "", eventTypes: ["invoice.paid"],
                        secret: .generate(), createdAtMillis: 0, updatedAtMillis: 0)
    }

    @Test func anEndpointFailingForFiveDaysIsDisabledOnceAndSuccessResetsTheStreak() {
        let day: Int64 = 86_400_000
        var e = endpoint()
        #expect(!WebhookOutcome.apply(success: false, to: &e, nowMillis: 1_000, disableAfterMillis: 5 * day))
        #expect(e.failingSinceMillis == 1_000 && e.status == .enabled)
        #expect(!WebhookOutcome.apply(success: false, to: &e, nowMillis: 1_000 + 5 * day - 1, disableAfterMillis: 5 * day))
        #expect(e.failingSinceMillis == 1_000)
        // A success in between starts the clock over.
        var recovered = e
        #expect(!WebhookOutcome.apply(success: true, to: &recovered, nowMillis: 2_000, disableAfterMillis: 5 * day))
        #expect(recovered.failingSinceMillis == nil && recovered.status == .enabled)
        #expect(WebhookOutcome.apply(success: false, to: &e, nowMillis: 1_000 + 5 * day, disableAfterMillis: 5 * day))
        #expect(e.status == .disabled && e.disabledReason?.contains("5 days") == true)
        // Already disabled: not "disabled now" again.
        #expect(!WebhookOutcome.apply(success: false, to: &e, nowMillis: 1_000 + 6 * day, disableAfterMillis: 5 * day))
    }

    @Test func thePreviousSecretSignsOnlyDuringTheOverlap() {
        var e = endpoint()
        #expect(e.signingSecrets(nowMillis: 0) == [e.secret])
        let old = e.secret
        e.previousSecret = old
        e.secret = .generate()
        e.previousSecretUntilMillis = 10_000
        #expect(e.signingSecrets(nowMillis: 9_999) == [e.secret, old])
        #expect(e.signingSecrets(nowMillis: 10_000) == [e.secret])
    }

    @Test func targetsAndEventTypes() throws {
        #expect(try WebhookEndpoint.target("https://Example.com/hook") == .init(scheme: "https", host: "example.com", port: 443))
        #expect(try WebhookEndpoint.target("http://[::1]:8080/x") == .init(scheme: "http", host: "::1", port: 8080))
        for bad in ["ftp://x/y", "https://", "http://u:p@x.com/", "nonsense", "https://x.com/" + String(repeating: "a", count: 2_100)] {
            #expect(throws: TallyError.self, "\(bad)") { try WebhookEndpoint.target(bad) }
        }
        #expect(endpoint().receives("invoice.paid") && !endpoint().receives("invoice.voided"))
        var all = endpoint()
        all.eventTypes = []
        #expect(all.receives("anything.at.all"))
        #expect(throws: TallyError.self) { try WebhookEndpoint.validateEventTypes(["ok", "not ok"]) }
        #expect(throws: TallyError.self) { try WebhookEndpoint.validateEventTypes(Array(repeating: "a", count: 101)) }
    }

    @Test func deliveryAttemptsRoundTrip() {
        let attempts = [WebhookDelivery.Attempt(atMillis: 1_800_000_000_000, status: 500, error: "the endpoint answered 500", durationMillis: 12),
                        WebhookDelivery.Attempt(atMillis: 1_800_000_005_000, status: nil, error: "connect timeout", durationMillis: 5_000)]
        #expect(WebhookDelivery.parseAttempts(WebhookDelivery.attemptsJSON(attempts)) == attempts)
    }
}
