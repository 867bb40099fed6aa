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
        for index in 0..<10 { _ = limiter.check("k\(index)", policy: policy, now: 5_000_000_000) }
        #expect(limiter.count <= 10)
        #expect(limiter.check("a", policy: policy, now: 5_000_000_000).allowed)
        for index in 0..<10 { _ = limiter.check("later\(index)", policy: policy, now: 60_000_000_000) }
        #expect(limiter.count == 10)  // the twelve idle keys went; the ten active ones stay
    }
}
