/// The one error type that crosses module boundaries and reaches API clients.
///
/// Like postgres-nio's `PSQLError`: a stable `code`, a user-safe `detail`, and a
/// `debugDescription` that carries internals for logs only. The HTTP front turns it into an
/// RFC 9457 problem document; `status` is the HTTP status that code stands for.
public struct TallyError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A stable, documented, machine-readable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's text, e.g. `invalid_api_key`.
        public let rawValue: String
        /// The HTTP status this code is answered with.
        public let status: Int
        /// A short human title for the problem type.
        public let title: String

        public init(_ rawValue: String, status: Int, title: String) {
            self.rawValue = rawValue
            self.status = status
            self.title = title
        }

        public var description: String { rawValue }
        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.rawValue == rhs.rawValue }
        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

        // 400
        public static let malformedJSON = Code("malformed_json", status: 400, title: "Malformed JSON")
        public static let invalidParameter = Code("invalid_parameter", status: 400, title: "Invalid parameter")
        // 401
        public static let missingCredentials = Code("missing_credentials", status: 401, title: "Missing credentials")
        public static let invalidAPIKey = Code("invalid_api_key", status: 401, title: "Invalid API key")
        public static let apiKeyRevoked = Code("api_key_revoked", status: 401, title: "API key revoked")
        public static let apiKeyExpired = Code("api_key_expired", status: 401, title: "API key expired")
        public static let invalidSignature = Code("invalid_signature", status: 401, title: "Invalid webhook signature")
        // 403
        public static let forbidden = Code("forbidden", status: 403, title: "Forbidden")
        public static let tenantSuspended = Code("tenant_suspended", status: 403, title: "Tenant suspended")
        public static let tenantDeleted = Code("tenant_deleted", status: 403, title: "Tenant deleted")
        // 404, 405, 409, 413, 415, 422
        public static let notFound = Code("not_found", status: 404, title: "Not found")
        public static let methodNotAllowed = Code("method_not_allowed", status: 405, title: "Method not allowed")
        public static let conflict = Code("conflict", status: 409, title: "Conflict")
        public static let bodyTooLarge = Code("body_too_large", status: 413, title: "Request body too large")
        public static let unsupportedMediaType = Code("unsupported_media_type", status: 415, title: "Unsupported media type")
        public static let validationFailed = Code("validation_failed", status: 422, title: "Validation failed")
        // 5xx
        public static let internalError = Code("internal_error", status: 500, title: "Internal error")
        public static let unavailable = Code("service_unavailable", status: 503, title: "Service unavailable")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A message safe to show an API client: names what is wrong, never internals.
    public var detail: String
    /// The input field at fault (a JSON pointer-ish dotted path or a parameter name), if any.
    public var field: String?
    /// Internals for logs only: never sent to a client.
    public var context: String?

    public init(_ code: Code, _ detail: String, field: String? = nil, context: String? = nil) {
        self.code = code
        self.detail = detail
        self.field = field
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(detail)" }

    public var debugDescription: String {
        var text = "TallyError(\(code.rawValue), detail: \(detail)"
        if let field { text += ", field: \(field)" }
        if let context { text += ", context: \(context)" }
        return text + ")"
    }

    /// Shorthand for a 422 on one field.
    public static func validation(_ field: String, _ detail: String) -> TallyError {
        TallyError(.validationFailed, detail, field: field)
    }

    /// Shorthand for a 404 that does not say whether the thing exists elsewhere.
    public static func notFound(_ what: String) -> TallyError {
        TallyError(.notFound, "\(what) not found")
    }
}
