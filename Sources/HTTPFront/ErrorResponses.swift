import Core
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Storage
import Synchronization

/// Turns every error a route throws into a problem+json response, so clients always get a
/// stable code and never an internal message; unexpected errors are logged with their details.
struct ErrorResponses: Sendable {
    /// Filled in once every route is registered; tells 404 from 405.
    let routes: RouteTableBox

    func response(for error: any Error, request: Request, context: TallyRequestContext) -> Response {
        var mapped = Self.map(error, request: request)
        var headers: HTTPFields = [:]
        if mapped.code == .notFound, error is HTTPError {
            let allowed = routes.table.methods(matching: request.uri.path)
            if !allowed.isEmpty {
                mapped = TallyError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allowed.joined(separator: ", "))")
                headers[.allow] = allowed.joined(separator: ", ")
            }
        }
        if mapped.code.status >= 500 {
            var metadata: Logger.Metadata = [LogKey.errorCode: "\(mapped.code.rawValue)", "error": "\(String(reflecting: error))"]
            if let tenant = context.locals.tenantID { metadata[LogKey.tenantID] = .string(tenant) }
            if let key = context.locals.keyID { metadata[LogKey.apiKeyID] = .string(key) }
            context.logger.error("request failed", metadata: metadata)
        }
        if mapped.code.status == 503 || mapped.code.status == 429 { headers[.retryAfter] = "1" }
        return ProblemResponse.make(mapped, requestID: context.requestID, headers: headers)
    }

    /// The public error for anything thrown.
    static func map(_ error: any Error, request: Request) -> TallyError {
        switch error {
        case let error as TallyError:
            return error
        case is NIOTooManyBytesError:
            return TallyError(.bodyTooLarge, "the request body is larger than this route accepts")
        case let error as HTTPError:
            switch error.status.code {
            case 404: return TallyError(.notFound, "no route for \(request.method) \(request.uri.path)")
            case 405: return TallyError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
            case 413: return TallyError(.bodyTooLarge, "the request body is larger than this route accepts")
            case 400: return TallyError(.invalidParameter, error.body ?? "the request is malformed")
            default:
                return TallyError(
                    TallyError.Code("http_\(error.status.code)", status: error.status.code, title: error.status.reasonPhrase),
                    error.body ?? error.status.reasonPhrase
                )
            }
        default:
            if StorageAvailability.isUnavailable(error) {
                return TallyError(.unavailable, "a backing service is unavailable; retry shortly", context: String(reflecting: error))
            }
            return TallyError(.internalError, "an internal error occurred; quote the request id when reporting it", context: String(reflecting: error))
        }
    }
}

/// Holds the route table, set after the router has every route (middleware is added first).
final class RouteTableBox: Sendable {
    private let storage = Mutex(RouteTable([]))
    var table: RouteTable {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
