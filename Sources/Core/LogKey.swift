/// Log metadata keys, defined once and dotted (`tenant.id`), as every component must spell them.
public enum LogKey {
    /// The request's identifier (`X-Request-Id`).
    public static let requestID = "request.id"
    /// The tenant a request or job acts for.
    public static let tenantID = "tenant.id"
    /// The API key that authenticated a request.
    public static let apiKeyID = "api_key.id"
    /// A route template such as `/v1/tenants/{id}`.
    public static let route = "http.route"
    /// An HTTP method.
    public static let method = "http.method"
    /// An HTTP status code.
    public static let status = "http.status"
    /// A duration in milliseconds.
    public static let durationMS = "duration.ms"
    /// A stable error code.
    public static let errorCode = "error.code"
    /// The storage backend (`sqlite`, `postgres`).
    public static let backend = "storage.backend"
}
