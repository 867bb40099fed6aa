import Core
import Testing

@Suite struct AdmissionLimitsTests {
    @Test func boundsBytesAndRequests() {
        var ledger = AdmissionLedger()
        #expect(ledger.fits(bytes: 60, maxBytes: 100, maxRequests: 3))
        ledger.add(bytes: 60)
        #expect(!ledger.fits(bytes: 50, maxBytes: 100, maxRequests: 3))
        #expect(ledger.fits(bytes: 40, maxBytes: 100, maxRequests: 3))
        ledger.add(bytes: 40)
        #expect(!ledger.fits(bytes: 1, maxBytes: 100, maxRequests: 3))  // bytes full
        ledger.remove(bytes: 60)
        #expect(ledger.bytes == 40 && ledger.requests == 1)
        #expect(!ledger.fits(bytes: 1, maxBytes: 100, maxRequests: 1))  // requests full
        ledger.remove(bytes: 40)
        #expect(ledger.isIdle)
    }

    @Test func anOversizedRequestGetsInAlone() {
        var ledger = AdmissionLedger()
        #expect(ledger.fits(bytes: 500, maxBytes: 100, maxRequests: 3))
        ledger.add(bytes: 500)
        #expect(!ledger.fits(bytes: 1, maxBytes: 100, maxRequests: 3))
    }

    @Test func settingsParseTheLimits() throws {
        let settings = try Settings.parse([
            Settings.Name.ingestTenantMaxInFlightBytes: "2048", Settings.Name.ingestMaxInFlightBytes: "4096",
            Settings.Name.ingestTenantMaxInFlightRequests: "3", Settings.Name.ingestMaxInFlightRequests: "9", Settings.Name.tenantIdleSeconds: "30",
        ])
        #expect(settings.ingestLimits == AdmissionLimits(tenantBytes: 2048, totalBytes: 4096, tenantRequests: 3, totalRequests: 9))
        #expect(settings.tenantIdleSeconds == 30)
        #expect(try Settings.parse([:]).ingestLimits == .defaults)
        #expect(throws: ConfigurationError.self) { try Settings.parse([Settings.Name.ingestMaxInFlightRequests: "0"]) }
        #expect(throws: ConfigurationError.self) { try Settings.parse([Settings.Name.tenantIdleSeconds: "forever"]) }
    }

    @Test func settingsParseTheCommitOverlap() throws {
        #expect(try Settings.parse([:]).ingestCommitOverlapEvents == 256)
        #expect(try Settings.parse([Settings.Name.ingestCommitOverlapEvents: "1"]).ingestCommitOverlapEvents == 1)
        for bad in ["0", "-5", "1000001", "many"] {
            #expect(throws: ConfigurationError.self) { try Settings.parse([Settings.Name.ingestCommitOverlapEvents: bad]) }
        }
    }
}

@Suite struct PercentDecodingTests {
    @Test func decodesStrictly() {
        #expect(PercentDecoding.decode("%2F%2Fapi%2Fnode-1") == "//api/node-1")
        #expect(PercentDecoding.decode("plain") == "plain")
        #expect(PercentDecoding.decode("caf%C3%A9") == "café")
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(PercentDecoding.decode("%2") == nil)
        #expect(PercentDecoding.decode("%FF") == nil)  // not UTF-8
    }
}

@Suite struct IdempotencySettingsTests {
    @Test func theTTLIsConfigurable() throws {
        #expect(try Settings.parse([:]).idempotencyTTLSeconds == 86_400)
        #expect(try Settings.parse([Settings.Name.idempotencyTTL: "3600"]).idempotencyTTLSeconds == 3_600)
        #expect(throws: ConfigurationError.self) { try Settings.parse([Settings.Name.idempotencyTTL: "10"]) }
    }
}
