import Core
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The request context every Tally route sees: Hummingbird's core storage, the request id,
/// and what authentication found (set by `AuthMiddleware`).
public struct TallyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id: the client's `X-Request-Id` if acceptable, else generated.
    public var requestID: String = ""
    /// The authenticated caller; `nil` before `AuthMiddleware` and on public routes.
    public var principal: Principal?
    /// Shared with the outer middleware (a reference), so the access log learns the tenant.
    public let locals = RequestLocals()
    /// The connection the request came on.
    private let channel: any Channel

    /// The peer's IP address (of the TCP connection; behind a proxy, the proxy's). Formatted
    /// when asked for: most requests never need it.
    public var clientIP: String? { channel.remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The authenticated caller, or `missing_credentials` (a route forgot `AuthMiddleware`).
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw TallyError(.missingCredentials, "authentication is required") }
        return principal
    }
}

/// Per-request facts learnt by inner middleware and read by outer middleware.
public final class RequestLocals: Sendable {
    private let state = Mutex<(tenantID: String?, keyID: String?)>((nil, nil))

    public var tenantID: String? { state.withLock { $0.tenantID } }
    public var keyID: String? { state.withLock { $0.keyID } }

    func record(tenantID: String?, keyID: String) {
        state.withLock { $0 = (tenantID, keyID) }
    }
}
