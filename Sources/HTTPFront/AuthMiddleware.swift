import Core
import HTTPTypes
import Hummingbird
import Logging
import Platform

/// Authenticates `Authorization: Bearer <key>` on every `/v1` route and resolves the tenant
/// from the credential; never from the path or a header the caller chooses.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let keys: APIKeyService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw TallyError(.missingCredentials, "send an API key as 'Authorization: Bearer <key>'")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw TallyError(.missingCredentials, "the Authorization header must use the Bearer scheme")
        }
        let principal = try await keys.authenticate(token: String(parts[1]).trimmingWhitespace())
        var context = context
        context.principal = principal
        context.logger[metadataKey: LogKey.apiKeyID] = .string(principal.keyID.rawValue)
        if let tenant = principal.tenantScope {
            context.logger[metadataKey: LogKey.tenantID] = .string(tenant.tenantID.rawValue)
        }
        context.locals.record(tenantID: principal.tenantScope?.tenantID.rawValue, keyID: principal.keyID.rawValue)
        return try await next(request, context)
    }
}
