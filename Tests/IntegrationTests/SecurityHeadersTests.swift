import Core
import HTTPTypes
@testable import HTTPFront
import Hummingbird
import Testing

/// The baseline response headers: each added once, a handler's own value kept, HSTS only
/// outside development.
@Suite struct SecurityHeadersTests {
    static func names(_ response: Response) -> [String] { response.headers.map(\.name.canonicalName) }

    @Test(arguments: Settings.Environment.allCases)
    func everyFieldOnceAndHSTSOutsideDev(environment: Settings.Environment) {
        var response = Response(status: .ok, headers: [.contentType: "application/json"])
        let before = Self.names(response)
        SecurityHeaders(environment: environment).apply(to: &response)
        var expected = before + ["x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy", "cache-control"]
        if environment != .dev { expected.append("strict-transport-security") }
        #expect(Self.names(response) == expected)
        #expect(response.headers[.cacheControl] == "no-store")
        #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
        // Applied twice (a response passing the layer again), nothing is repeated.
        SecurityHeaders(environment: environment).apply(to: &response)
        #expect(Self.names(response) == expected)
    }

    @Test func aHandlersOwnValueIsKept() {
        var response = Response(status: .ok, headers: [.cacheControl: "public, max-age=300", HTTPField.Name("Strict-Transport-Security")!: "max-age=60"])
        let before = response.headers.count
        SecurityHeaders(environment: .prod).apply(to: &response)
        #expect(response.headers[values: .cacheControl] == ["public, max-age=300"])
        #expect(response.headers[values: HTTPField.Name("Strict-Transport-Security")!] == ["max-age=60"])
        #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
        #expect(response.headers.count == before + 4)
    }
}
