import Core

/// A rate limit: at most `limit` requests per `window` seconds, with bursts up to `limit`,
/// enforced as a generic cell rate algorithm (GCRA): one timestamp of state per key, no timers.
public struct RateLimitPolicy: Sendable, Equatable, Hashable {
    /// What the limit counts, as `RateLimit-Policy` names it (`ip`, `key`, `tenant`).
    public var name: String
    public var limit: Int
    /// Seconds.
    public var window: Int

    public init(name: String, limit: Int, window: Int) {
        precondition(limit > 0 && window > 0)
        self.name = name
        self.limit = limit
        self.window = window
    }

    /// Nanoseconds between requests at the steady rate.
    var interval: Int64 { Int64(window) * 1_000_000_000 / Int64(limit) }
    /// How far ahead of now the schedule may run: a full burst.
    var tolerance: Int64 { Int64(window) * 1_000_000_000 }

    /// Decides a request at `now` (nanoseconds on a monotonic clock) given the key's theoretical
    /// arrival time (`nil` for a key never seen, or forgotten). Returns the verdict and the new
    /// theoretical arrival time to keep (unchanged when refused).
    public func decide(tat: Int64?, now: Int64, cost: Int = 1) -> (verdict: RateLimitVerdict, tat: Int64?) {
        let start = max(tat ?? now, now)
        let next = start + interval * Int64(cost)
        let allowAt = next - tolerance
        if now < allowAt {
            let retry = Self.ceilSeconds(allowAt - now)
            return (RateLimitVerdict(policy: self, allowed: false, remaining: 0, resetSeconds: Self.ceilSeconds(start - now), retryAfterSeconds: max(1, retry)), tat)
        }
        let remaining = Int((tolerance - (next - now)) / interval)
        return (RateLimitVerdict(policy: self, allowed: true, remaining: max(0, remaining), resetSeconds: Self.ceilSeconds(next - now), retryAfterSeconds: nil), next)
    }

    static func ceilSeconds(_ nanoseconds: Int64) -> Int {
        nanoseconds <= 0 ? 0 : Int((nanoseconds + 999_999_999) / 1_000_000_000)
    }
}

/// One policy's answer for one request.
public struct RateLimitVerdict: Sendable, Equatable {
    public var policy: RateLimitPolicy
    public var allowed: Bool
    /// Requests still allowed right now.
    public var remaining: Int
    /// Seconds until the quota is whole again.
    public var resetSeconds: Int
    /// When refused: seconds until a request would be allowed.
    public var retryAfterSeconds: Int?

    public init(policy: RateLimitPolicy, allowed: Bool, remaining: Int, resetSeconds: Int, retryAfterSeconds: Int?) {
        self.policy = policy
        self.allowed = allowed
        self.remaining = remaining
        self.resetSeconds = resetSeconds
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// `RateLimit-Policy` (IETF httpapi ratelimit-headers draft, structured fields): `"tenant";q=600;w=60`.
    public var policyHeader: String { Self.item(policy.name, "q", policy.limit, "w", policy.window) }
    /// `RateLimit`: `"tenant";r=12;t=3`.
    public var rateLimitHeader: String { Self.item(policy.name, "r", remaining, "t", resetSeconds) }

    /// `"name";a=1;b=2`, written byte by byte into a stack buffer: the String is the only
    /// allocation (every authenticated response carries two of these; string interpolation of
    /// the numbers cost about 1 % of a check's CPU).
    static func item(_ name: String, _ first: Unicode.Scalar, _ firstValue: Int, _ second: Unicode.Scalar, _ secondValue: Int) -> String {
        // A name this long is never configured; it takes the longer road.
        guard name.utf8.count <= 64 else { return "\"\(name)\";\(first)=\(firstValue);\(second)=\(secondValue)" }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer in
            var count = 0
            func put(_ byte: UInt8) {
                buffer[count] = byte
                count += 1
            }
            put(UInt8(ascii: "\""))
            for byte in name.utf8 { put(byte) }
            put(UInt8(ascii: "\""))
            func parameter(_ key: Unicode.Scalar, _ value: Int) {
                put(UInt8(ascii: ";"))
                put(UInt8(ascii: key))
                put(UInt8(ascii: "="))
                buffer.writeDecimal(value, at: &count)
            }
            parameter(first, firstValue)
            parameter(second, secondValue)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// The verdict to report among several: any refusal (the longest wait), else the one with
    /// the least remaining.
    public static func mostConstraining(_ verdicts: [RateLimitVerdict]) -> RateLimitVerdict? {
        if let refused = verdicts.filter({ !$0.allowed }).max(by: { ($0.retryAfterSeconds ?? 0) < ($1.retryAfterSeconds ?? 0) }) { return refused }
        return verdicts.min { $0.remaining < $1.remaining }
    }
}
