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

    func handle(
        _ request: Request, context: TallyRequestContext, next: (Request, TallyRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let principal = context.principal else { return try await next(request, context) }
        var items: [(key: String, policy: RateLimitPolicy)] = []
        var keyLimit = keyPerSecond
        if let scope = principal.tenantScope {
            let limits = try await directory.actor(for: scope.tenantID).snapshot().rateLimits
            keyLimit = limits.keyPerSecond ?? keyLimit
            items.append(("t:" + scope.tenantID.rawValue, RateLimitPolicy(name: "tenant", limit: limits.tenantPerSecond ?? tenantPerSecond, window: 1)))
        }
        items.append(("k:" + principal.keyID.rawValue, RateLimitPolicy(name: "key", limit: keyLimit, window: 1)))
        let verdicts = limiter.check(items, now: Self.now())
        guard let shown = RateLimitVerdict.mostConstraining(verdicts) else { return try await next(request, context) }
        var policies = ""
        for verdict in verdicts {
            if !policies.isEmpty { policies += ", " }
            policies += verdict.policyHeader
        }
        let fields = [HTTPField(name: .rateLimitPolicy, value: policies), HTTPField(name: .rateLimit, value: shown.rateLimitHeader)]
        guard shown.allowed else {
            var headers = HTTPFields(fields)
            headers.append(HTTPField(name: .retryAfter, value: String(shown.retryAfterSeconds ?? 1)))
            let error = TallyError(.rateLimited, "the \(shown.policy.name) rate limit of \(shown.policy.limit) requests per \(shown.policy.window) s is spent; retry after Retry-After seconds")
            return ProblemResponse.make(error, requestID: context.requestID, headers: headers)
        }
        var response = try await next(request, context)
        response.headers.append(contentsOf: fields)
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
