import Core
import HTTPTypes
import Hummingbird

/// Refuses a body whose declared length passes the limit before reading any of it; bodies sent
/// without a length are cut off at the limit when read (`RequestBodyReader`).
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers.single(.contentLength).flatMap({ Int($0) }), declared > maxBytes {
            throw TallyError(.bodyTooLarge, "the request body is \(declared) bytes; the limit is \(maxBytes)")
        }
        return try await next(request, context)
    }
}
