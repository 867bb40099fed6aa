import Core
import HTTPTypes
import Hummingbird

/// OWASP's baseline response headers for a JSON API: no sniffing, no framing, no referrer,
/// a deny-all content policy, no caching of API answers, and HSTS outside development.
struct SecurityHeaders: Sendable {
    let environment: Settings.Environment

    func apply(to response: inout Response) {
        // One scan notes which of ours a handler set already (it keeps its own), then the rest
        // are appended, not assigned through the subscript (which rebuilds the fields each
        // time). Every response passes here, so the fields are read once, not once per name.
        let names = environment == .dev ? Self.names.dropLast() : Self.names[...]
        var present: UInt32 = 0
        for field in response.headers {
            for (index, name) in names.enumerated() where field.name == name { present |= 1 << index }
        }
        response.headers.reserveCapacity(response.headers.count + names.count)
        for (index, field) in Self.all.prefix(names.count).enumerated() where present & (1 << index) == 0 { response.headers.append(field) }
    }

    static let fields = [
        HTTPField(name: .xContentTypeOptions, value: "nosniff"), HTTPField(name: .xFrameOptions, value: "DENY"),
        HTTPField(name: .referrerPolicy, value: "no-referrer"),
        HTTPField(name: .contentSecurityPolicy, value: "default-src 'none'; frame-ancestors 'none'"),
        HTTPField(name: .cacheControl, value: "no-store"),
    ]
    static let hsts = HTTPField(name: .strictTransportSecurity, value: "max-age=31536000; includeSubDomains")
    /// Every field, HSTS last (it is left out in development).
    static let all = fields + [hsts]
    static let names = all.map(\.name)
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let strictTransportSecurity = Self("Strict-Transport-Security")!
}
