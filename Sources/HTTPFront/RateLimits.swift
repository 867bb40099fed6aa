#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Actors
import Core
import Entitlements
import HTTPTypes
import Hummingbird

/// Per-tenant and per-key rate limits on authenticated routes (GCRA, one-second windows), from
/// the node's defaults or the tenant's `settings.rate_limits`. Every response carries
/// `RateLimit-Policy` and `RateLimit` (IETF httpapi draft) for the most constraining limit; a
/// refused request gets 429 `rate_limited` with `Retry-After`, before its handler runs, and
/// spends nothing. Run by `AuthMiddleware` right after it authenticates (one middleware layer
/// for both).
struct RateLimits: Sendable {
    let limiter: RateLimiter
    let directory: TenantDirectory
    let tenantPerSecond: Int
    let keyPerSecond: Int
    /// `RateLimit-Policy` values already written: they depend on the limits only, and a node
    /// sees few distinct ones.
    let policyHeaders = RateLimitPolicyHeaders()

    func handle(
        _ request: Request, context: TallyRequestContext, next: (Request, TallyRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let principal = context.principal else { return try await next(request, context) }
        var items: [(key: RateLimitKey, policy: RateLimitPolicy)] = []
        items.reserveCapacity(2)
        var keyLimit = keyPerSecond
        if let scope = principal.tenantScope {
            let limits = try await directory.actor(for: scope.tenantID).snapshot().rateLimits
            keyLimit = limits.keyPerSecond ?? keyLimit
            items.append((RateLimitKey(.tenant, scope.tenantID.rawValue), RateLimitPolicy(name: "tenant", limit: limits.tenantPerSecond ?? tenantPerSecond, window: 1)))
        }
        items.append((RateLimitKey(.apiKey, principal.keyID.rawValue), RateLimitPolicy(name: "key", limit: keyLimit, window: 1)))
        let verdicts = limiter.check(items, now: Self.now())
        guard let shown = RateLimitVerdict.mostConstraining(verdicts) else { return try await next(request, context) }
        let policy = HTTPField(name: .rateLimitPolicy, value: policyHeaders.value(for: verdicts))
        let state = HTTPField(name: .rateLimit, value: shown.rateLimitHeader)
        guard shown.allowed else {
            var headers = HTTPFields()
            headers.append(policy)
            headers.append(state)
            headers.append(HTTPField(name: .retryAfter, value: String(shown.retryAfterSeconds ?? 1)))
            let error = TallyError(.rateLimited, "the \(shown.policy.name) rate limit of \(shown.policy.limit) requests per \(shown.policy.window) s is spent; retry after Retry-After seconds")
            return ProblemResponse.make(error, requestID: context.requestID, headers: headers)
        }
        var response = try await next(request, context)
        response.headers.append(policy)
        response.headers.append(state)
        return response
    }

    /// Monotonic nanoseconds (`CLOCK_MONOTONIC`, read directly: `ContinuousClock` arithmetic
    /// and its conversion to nanoseconds cost more than the rest of a rate-limit decision).
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

extension TallyError.Code {
    /// A tenant or key rate limit is spent.
    public static let rateLimited = TallyError.Code("rate_limited", status: 429, title: "Rate limited")
    /// Too many failed authentications from this client address.
    public static let tooManyAuthFailures = TallyError.Code("too_many_auth_failures", status: 429, title: "Too many failed authentications")
}

extension HTTPField.Name {
    static let rateLimit = Self("RateLimit")!
}
