import Core
import HTTPTypes
import Hummingbird

/// OWASP's baseline response headers for a JSON API: no sniffing, no framing, no referrer,
/// a deny-all content policy, no caching of API answers, and HSTS outside development.
struct SecurityHeaders: Sendable {
    let environment: Settings.Environment

    func apply(to response: inout Response) {
        // Appended, not assigned through the subscript (which rebuilds the fields each time);
        // a handler that set one of these already keeps its own.
        for field in Self.fields where response.headers.single(field.name) == nil { response.headers.append(field) }
        if environment != .dev, response.headers.single(.strictTransportSecurity) == nil { response.headers.append(Self.hsts) }
    }

    static let fields = [
        HTTPField(name: .xContentTypeOptions, value: "nosniff"), HTTPField(name: .xFrameOptions, value: "DENY"),
        HTTPField(name: .referrerPolicy, value: "no-referrer"),
        HTTPField(name: .contentSecurityPolicy, value: "default-src 'none'; frame-ancestors 'none'"),
        HTTPField(name: .cacheControl, value: "no-store"),
    ]
    static let hsts = HTTPField(name: .strictTransportSecurity, value: "max-age=31536000; includeSubDomains")
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let strictTransportSecurity = Self("Strict-Transport-Security")!
}
