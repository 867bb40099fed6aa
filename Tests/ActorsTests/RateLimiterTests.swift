import Actors
import Entitlements
import Testing

@Suite struct RateLimiterTests {
    @Test func keysAreLimitedApartAndMemoryStaysBounded() {
        let limiter = RateLimiter(capacity: 4)
        let policy = RateLimitPolicy(name: "key", limit: 2, window: 1)
        #expect(limiter.check("a", policy: policy, now: 0).allowed)
        #expect(limiter.check("a", policy: policy, now: 0).allowed)
        #expect(!limiter.check("a", policy: policy, now: 0).allowed)
        #expect(limiter.check("b", policy: policy, now: 0).allowed)  // another key has its own burst
        // Many keys later, the table sheds those whose burst is whole again.
        for index in 0..<10 { _ = limiter.check(RateLimitKey(.other, "k\(index)"), policy: policy, now: 5_000_000_000) }
        #expect(limiter.count <= 10)
        #expect(limiter.check("a", policy: policy, now: 5_000_000_000).allowed)
        for index in 0..<10 { _ = limiter.check(RateLimitKey(.other, "later\(index)"), policy: policy, now: 60_000_000_000) }
        #expect(limiter.count == 10)  // the twelve idle keys went; the ten active ones stay
    }

    /// Several keys at once: allowed only if every one allows, recorded against all of them
    /// then, and a refusal by one spends nothing on the others.
    @Test func aRequestAgainstSeveralKeysSpendsAllOrNothing() {
        let limiter = RateLimiter()
        let wide = RateLimitPolicy(name: "tenant", limit: 3, window: 1), narrow = RateLimitPolicy(name: "key", limit: 1, window: 1)
        let first = limiter.check([("t", wide), ("k", narrow)], now: 0)
        #expect(first.map(\.allowed) == [true, true] && first.map(\.remaining) == [2, 0])
        let second = limiter.check([("t", wide), ("k", narrow)], now: 0)
        #expect(second.map(\.allowed) == [true, false])
        // The refused request took nothing from "t": two of its three are still there.
        #expect(limiter.check("t", policy: wide, now: 0).remaining == 1)
        #expect(limiter.check("t", policy: wide, now: 0).remaining == 0)
        #expect(!limiter.check("t", policy: wide, now: 0).allowed)
        #expect(limiter.count == 2)
    }

    /// A tenant and an API key (or an address) with the same id are counted apart: the kind is
    /// part of the key.
    @Test func kindsKeepEqualIdsApart() {
        let limiter = RateLimiter()
        let one = RateLimitPolicy(name: "key", limit: 1, window: 1)
        #expect(limiter.check(RateLimitKey(.tenant, "x"), policy: one, now: 0).allowed)
        #expect(!limiter.check(RateLimitKey(.tenant, "x"), policy: one, now: 0).allowed)
        #expect(limiter.check(RateLimitKey(.apiKey, "x"), policy: one, now: 0).allowed)
        #expect(limiter.check(RateLimitKey(.address, "x"), policy: one, now: 0).allowed)
        #expect(limiter.check("x", policy: one, now: 0).allowed)
        #expect(limiter.count == 4)
    }
}
