import Core
import HTTPTypes
import Hummingbird
import Logging

/// Accepts the client's `X-Request-Id` (1–128 visible ASCII characters) or generates one,
/// puts it on the request's logger and echoes it on the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let ids = RequestIDSource()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers.single(.requestID).flatMap(Self.acceptable) ?? ids.next().rawValue
        context.requestID = id
        context.logger[metadataKey: LogKey.requestID] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
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
