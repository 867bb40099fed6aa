import Core
import HTTPTypes
import Hummingbird

/// The middleware in front of every route, in one layer: request id, body limit, errors to
/// problem+json, security headers, metrics and the access log.
///
/// One layer rather than five: each Hummingbird middleware is an async frame and a copy of the
/// request context, which on small requests cost as much as the work they wrap. In order, for
/// a request: its id is accepted or generated and put on the logger; a declared body over the
/// limit is refused (413) before it is read; the routes run; anything they throw becomes
/// problem+json; the security headers are added; the request is counted and logged with its
/// final status; the id is echoed.
struct FrontMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let requestIDs: RequestIDs
    let bodyLimit: BodyLimit
    let errors: ErrorResponses
    let securityHeaders: SecurityHeaders
    let accessLog: AccessLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = requestIDs.assign(request, to: &context)
        let start = ContinuousClock.now
        var response: Response
        do {
            try bodyLimit.check(request)
            response = try await next(request, context)
        } catch {
            response = errors.response(for: error, request: request, context: context)
        }
        securityHeaders.apply(to: &response)
        accessLog.record(request, context: context, response: response, elapsed: ContinuousClock.now - start)
        response.headers.append(HTTPField(name: .requestID, value: id))
        return response
    }
}
