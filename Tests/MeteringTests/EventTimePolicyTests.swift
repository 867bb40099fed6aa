import Metering
import Testing

@Suite struct EventTimePolicyTests {
    let now: Int64 = 1_795_860_930_000_000
    let day: Int64 = 86_400_000_000

    @Test func standardPolicyBoundaries() {
        let policy = EventTimePolicy.standard
        #expect(policy.check(eventTime: now, now: now) == nil)
        #expect(policy.check(eventTime: now - 35 * day, now: now) == nil)
        #expect(policy.check(eventTime: now - 35 * day - 1, now: now)?.code == "event_too_old")
        #expect(policy.check(eventTime: now + 300_000_000, now: now) == nil)
        #expect(policy.check(eventTime: now + 300_000_001, now: now)?.code == "event_in_future")
        #expect(policy.check(eventTime: now + 300_000_001, now: now)?.field == "time")
    }

    @Test func reasonsSayTheLimitsInWords() {
        let policy = EventTimePolicy.standard
        #expect(policy.check(eventTime: now + day, now: now)?.reason == "time is more than 5 minutes ahead of the server clock")
        #expect(
            policy.check(eventTime: now - 36 * day, now: now)?.reason
                == "time is older than the tenant's lateness horizon (35 days); enable backfill to import history"
        )
    }

    @Test func backfillAcceptsAnyAgeButNotTheFuture() {
        var policy = EventTimePolicy.standard
        policy.backfill = true
        #expect(policy.check(eventTime: now - 3650 * day, now: now) == nil)
        #expect(policy.check(eventTime: now + day, now: now)?.code == "event_in_future")
    }
}

@Suite struct GroupKeyTests {
    @Test func canonicalAndReversible() {
        let dimensions = ["region": "eu", "model": "small \"v2\"", "path": "a\\b", "ctl": "x\u{1}y"]
        let key = GroupKey.encode(dimensions)
        #expect(key.hasPrefix("{\"ctl\":"))
        #expect(GroupKey.decode(key) == dimensions)
        #expect(GroupKey.encode([:]) == "{}")
        #expect(GroupKey.decode("{}") == [:])
        #expect(GroupKey.encode(["b": "1", "a": "2"]) == GroupKey.encode(["a": "2", "b": "1"]))
    }

    @Test func randomDimensionsRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab\"\\:,{} é\u{0}\u{1f}\n\t\r😀")
        for _ in 0..<500 {
            var dimensions: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                let name = String((0..<Int.random(in: 1...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
                dimensions[name] = String((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            }
            #expect(GroupKey.decode(GroupKey.encode(dimensions)) == dimensions)
        }
    }

    @Test func malformedKeysDecodeToNil() {
        for bad in ["", "{", "{\"a\"}", "{\"a\":1}", "{\"a\":\"b\",}", "[\"a\"]", "{\"a\":\"\\q\"}"] {
            #expect(GroupKey.decode(bad) == nil, "\(bad)")
        }
    }
}
