import Core
import HTTPTypes
import Hummingbird
import Logging

/// Request ids: the client's `X-Request-Id` (1–128 visible ASCII characters) is accepted, else
/// one is generated; `FrontMiddleware` puts it on the request's logger and echoes it.
struct RequestIDs: Sendable {
    let ids = RequestIDSource()

    /// The request's id, and it set on the context and its logger.
    func assign(_ request: Request, to context: inout TallyRequestContext) -> String {
        let id = request.headers.single(.requestID).flatMap(Self.acceptable) ?? ids.next().rawValue
        context.requestID = id
        context.logger[metadataKey: LogKey.requestID] = .string(id)
        return id
    }

    static func acceptable(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }
}

/// Request ids Tally generates: `req_…`.
enum RequestKind: IdentifierKind { static let prefix = "req" }

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let rateLimitPolicy = Self("RateLimit-Policy")!
}
