import Scheduler
import TallyTestSupport
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(base: .milliseconds(100), cap: .seconds(5), maxAttempts: 6)

    @Test func ceilingsDoubleUntilTheCap() {
        #expect(policy.ceiling(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.ceiling(afterAttempt: 2) == .milliseconds(200))
        #expect(policy.ceiling(afterAttempt: 5) == .milliseconds(1600))
        #expect(policy.ceiling(afterAttempt: 7) == .seconds(5))
        #expect(policy.ceiling(afterAttempt: 500) == .seconds(5))
    }

    @Test func jitterSpansZeroToTheCeiling() {
        var generator = SplitMix64(state: 42)
        for attempt in 1...5 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            var waits: [Duration] = []
            for _ in 0..<2000 {
                guard case .retry(let wait) = policy.decide(afterAttempt: attempt, using: &generator) else {
                    Issue.record("expected a retry")
                    return
                }
                waits.append(wait)
            }
            #expect(waits.allSatisfy { $0 >= .zero && $0 <= ceiling })
            // Full jitter: draws reach both ends of the range.
            #expect(waits.min()! < ceiling / 20)
            #expect(waits.max()! > ceiling * 19 / 20)
        }
    }

    @Test func sameSeedSameWaits() {
        var a = SplitMix64(state: 7), b = SplitMix64(state: 7)
        #expect(policy.decide(afterAttempt: 4, using: &a) == policy.decide(afterAttempt: 4, using: &b))
    }

    @Test func givesUpAfterMaxAttempts() {
        var generator = SystemRandomNumberGenerator()
        #expect(policy.decide(afterAttempt: 6, using: &generator) == .giveUp)
        let forever = RetryPolicy(base: .seconds(1), cap: .seconds(1), maxAttempts: nil)
        #expect(forever.decide(afterAttempt: 10_000, using: &generator) != .giveUp)
    }
}
