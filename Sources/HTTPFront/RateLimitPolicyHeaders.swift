import Entitlements
import Synchronization

/// `RateLimit-Policy` values by the policies they list, written once each. The value depends on
/// the limits alone (`"tenant";q=600;w=1, "key";q=100;w=1`), which a node has few of, and every
/// authenticated response carries one: a look-up replaces writing two items and joining them.
/// Bounded: past `capacity` distinct lists, it starts over.
final class RateLimitPolicyHeaders: Sendable {
    /// The policies of a request: a tenant's and a key's at most, so a key needs no array.
    private struct Key: Hashable {
        var first: RateLimitPolicy
        var second: RateLimitPolicy?
    }

    private let values = Mutex<[Key: String]>([:])
    let capacity: Int

    init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    /// The header value for the verdicts' policies, in their order.
    func value(for verdicts: [RateLimitVerdict]) -> String {
        // Lists of one or two are looked up; any other is written out (none is made today).
        guard let first = verdicts.first, verdicts.count <= 2 else { return Self.render(verdicts) }
        let key = Key(first: first.policy, second: verdicts.count == 2 ? verdicts[1].policy : nil)
        if let known = values.withLock({ $0[key] }) { return known }
        let value = Self.render(verdicts)
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[key] = value
        }
        return value
    }

    /// The value written out: each policy's item, joined by ", ".
    static func render(_ verdicts: [RateLimitVerdict]) -> String {
        verdicts.map(\.policyHeader).joined(separator: ", ")
    }
}
