import Scheduler
import Testing

/// A generator that always draws the top of the range, to read ceilings through `decide`.
struct MaxGenerator: RandomNumberGenerator { mutating func next() -> UInt64 { .max } }
struct ZeroGenerator: RandomNumberGenerator { mutating func next() -> UInt64 { 0 } }

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
        var high = MaxGenerator()
        var low = ZeroGenerator()
        #expect(policy.decide(afterAttempt: 3, using: &high) == .retry(after: .milliseconds(400)))
        #expect(policy.decide(afterAttempt: 3, using: &low) == .retry(after: .zero))
        var system = SystemRandomNumberGenerator()
        for attempt in 1...5 {
            guard case .retry(let wait) = policy.decide(afterAttempt: attempt, using: &system) else {
                Issue.record("expected a retry")
                return
            }
            #expect(wait >= .zero && wait <= policy.ceiling(afterAttempt: attempt))
        }
    }

    @Test func givesUpAfterMaxAttempts() {
        var generator = SystemRandomNumberGenerator()
        #expect(policy.decide(afterAttempt: 6, using: &generator) == .giveUp)
        let forever = RetryPolicy(base: .seconds(1), cap: .seconds(1), maxAttempts: nil)
        #expect(forever.decide(afterAttempt: 10_000, using: &generator) != .giveUp)
    }
}
