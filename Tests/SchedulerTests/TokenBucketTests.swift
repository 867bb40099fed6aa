import Scheduler
import Testing

@Suite struct TokenBucketTests {
    @Test func burstsToOneSecondThenRefillsAtTheRate() {
        let first = TokenBucket.take(stored: nil, want: 8, perSecond: 5, nowMillis: 1_000)
        #expect(first.granted == 5 && first.tokens == 0)
        let empty = TokenBucket.take(stored: (first.tokens, 1_000), want: 8, perSecond: 5, nowMillis: 1_000)
        #expect(empty.granted == 0 && empty.retryAfterMillis == 200)
        let partial = TokenBucket.take(stored: (0, 1_000), want: 8, perSecond: 5, nowMillis: 1_450)
        #expect(partial.granted == 2 && abs(partial.tokens - 0.25) < 1e-9)
        // Never more than a second's worth, however long it rested.
        #expect(TokenBucket.take(stored: (0, 0), want: 100, perSecond: 5, nowMillis: 3_600_000).granted == 5)
        let one = TokenBucket.take(stored: (2, 0), want: 1, perSecond: 5, nowMillis: 0)
        #expect(one.granted == 1 && one.tokens == 1 && one.retryAfterMillis == 0)
    }
}
