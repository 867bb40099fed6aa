import Entitlements
import Testing

@Suite struct RateLimitPolicyTests {
    static let second: Int64 = 1_000_000_000
    let policy = RateLimitPolicy(name: "tenant", limit: 10, window: 1)  // 10 per second, bursts of 10

    /// Sends `count` requests at `now`, carrying the state; returns how many were allowed.
    func burst(_ count: Int, at now: Int64, tat: inout Int64?) -> Int {
        var allowed = 0
        for _ in 0..<count {
            let (verdict, next) = policy.decide(tat: tat, now: now)
            if verdict.allowed { allowed += 1 }
            tat = next
        }
        return allowed
    }

    @Test func aFullBurstThenTheSteadyRate() {
        var tat: Int64?
        #expect(burst(15, at: 0, tat: &tat) == 10)
        #expect(burst(5, at: Self.second / 10, tat: &tat) == 1)  // 100 ms later: one more slot
        #expect(burst(20, at: 2 * Self.second, tat: &tat) == 10)  // idle long enough: a full burst again
    }

    @Test func verdictsCarryRemainingResetAndRetryAfter() {
        var tat: Int64?
        let (first, next) = policy.decide(tat: tat, now: 0)
        #expect(first.allowed && first.remaining == 9 && first.resetSeconds == 1)
        tat = next
        _ = burst(9, at: 0, tat: &tat)
        let (refused, unchanged) = policy.decide(tat: tat, now: 0)
        #expect(!refused.allowed)
        #expect(refused.remaining == 0)
        #expect(refused.retryAfterSeconds == 1)
        #expect(unchanged == tat, "a refusal spends nothing")
        #expect(refused.policyHeader == "\"tenant\";q=10;w=1")
        #expect(refused.rateLimitHeader == "\"tenant\";r=0;t=1")
        let wide = RateLimitVerdict(policy: RateLimitPolicy(name: "key", limit: 1_000_000, window: 3_600), allowed: true, remaining: 999_999, resetSeconds: 12, retryAfterSeconds: nil)
        #expect(wide.policyHeader == "\"key\";q=1000000;w=3600")
        #expect(wide.rateLimitHeader == "\"key\";r=999999;t=12")
        // The largest numbers, and a name past the stack buffer's room, read the same way.
        let name = String(repeating: "n", count: 70)
        let huge = RateLimitVerdict(policy: RateLimitPolicy(name: name, limit: Int.max, window: Int.max), allowed: true, remaining: Int.max, resetSeconds: 0, retryAfterSeconds: nil)
        #expect(huge.policyHeader == "\"\(name)\";q=\(Int.max);w=\(Int.max)")
        #expect(huge.rateLimitHeader == "\"\(name)\";r=\(Int.max);t=0")
        let edge = RateLimitVerdict(policy: RateLimitPolicy(name: String(repeating: "e", count: 64), limit: Int.max, window: Int.max), allowed: true, remaining: Int.max, resetSeconds: Int.max, retryAfterSeconds: nil)
        #expect(edge.policyHeader == "\"\(String(repeating: "e", count: 64))\";q=\(Int.max);w=\(Int.max)")
        #expect(edge.rateLimitHeader == "\"\(String(repeating: "e", count: 64))\";r=\(Int.max);t=\(Int.max)")
    }

    @Test func costlierRequestsSpendMore() {
        let (verdict, tat) = policy.decide(tat: nil, now: 0, cost: 4)
        #expect(verdict.allowed && verdict.remaining == 6)
        #expect(!policy.decide(tat: tat, now: 0, cost: 7).verdict.allowed)
    }

    @Test func theMostConstrainingVerdictIsReported() {
        let wide = RateLimitPolicy(name: "ip", limit: 100, window: 60)
        let (a, _) = wide.decide(tat: nil, now: 0)
        let (b, _) = policy.decide(tat: nil, now: 0)
        #expect(RateLimitVerdict.mostConstraining([a, b])?.policy.name == "tenant")  // 9 left beats 99
        let refused = RateLimitVerdict(policy: wide, allowed: false, remaining: 0, resetSeconds: 5, retryAfterSeconds: 2)
        #expect(RateLimitVerdict.mostConstraining([a, refused, b]) == refused)
        #expect(RateLimitVerdict.mostConstraining([]) == nil)
    }
}
