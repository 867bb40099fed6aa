import Core
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Storage

/// Turns every error thrown below it into a problem+json response, so clients always get a
/// stable code and never an internal message; unexpected errors are logged with their details.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = Self.map(error, request: request)
            if mapped.code.status >= 500 {
                context.logger.error("request failed", metadata: [LogKey.errorCode: "\(mapped.code.rawValue)", "error": "\(String(reflecting: error))"])
            }
            var headers: HTTPFields = [:]
            if mapped.code.status == 503 { headers[.retryAfter] = "1" }
            return ProblemResponse.make(mapped, requestID: context.requestID, headers: headers)
        }
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
