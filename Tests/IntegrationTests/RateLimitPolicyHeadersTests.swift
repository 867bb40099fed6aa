import Entitlements
@testable import HTTPFront
import Testing

/// `RateLimit-Policy` values are written once per list of policies and then looked up: the
/// value is each policy's item joined by ", ", in the verdicts' order, for any list, and the
/// table stays bounded.
@Suite struct RateLimitPolicyHeadersTests {
    static func verdict(_ name: String, _ limit: Int) -> RateLimitVerdict {
        RateLimitVerdict(policy: RateLimitPolicy(name: name, limit: limit, window: 1), allowed: true, remaining: 0, resetSeconds: 1, retryAfterSeconds: nil)
    }

    @Test func valuesAreTheJoinedItemsAndStayRightPastTheBound() {
        let headers = RateLimitPolicyHeaders(capacity: 2)
        let both = [Self.verdict("tenant", 600), Self.verdict("key", 100)]
        #expect(headers.value(for: both) == #""tenant";q=600;w=1, "key";q=100;w=1"#)
        #expect(headers.value(for: both) == #""tenant";q=600;w=1, "key";q=100;w=1"#, "looked up the second time")
        #expect(headers.value(for: [Self.verdict("key", 100)]) == #""key";q=100;w=1"#)
        #expect(headers.value(for: both.reversed()) == #""key";q=100;w=1, "tenant";q=600;w=1"#, "order is kept")
        // A tenant whose limit changed gets its new value, not the old one.
        #expect(headers.value(for: [Self.verdict("tenant", 1), Self.verdict("key", 100)]) == #""tenant";q=1;w=1, "key";q=100;w=1"#)
        #expect(headers.value(for: both) == #""tenant";q=600;w=1, "key";q=100;w=1"#)
        #expect(headers.value(for: []) == "")
        // A longer list (none is made today) is written out the same way.
        #expect(headers.value(for: both + [Self.verdict("ip", 5)]) == #""tenant";q=600;w=1, "key";q=100;w=1, "ip";q=5;w=1"#)
    }
}
