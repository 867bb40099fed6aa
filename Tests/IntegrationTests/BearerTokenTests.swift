@testable import HTTPFront
import Testing

/// `Authorization: Bearer <key>`: the scheme in any case, the key trimmed, any other scheme
/// refused, and so is a scheme with no key.
@Suite struct BearerTokenTests {
    @Test(arguments: [
        ("Bearer tly_abc", "tly_abc"), ("bearer tly_abc", "tly_abc"), ("BEARER  tly_abc ", "tly_abc"), ("BeArEr\ttly_abc", nil),
        ("Basic dXNlcjpwYXNz", nil), ("Bearertly_abc", nil), ("Bearer", nil), ("Bearers tly_abc", nil), ("Béarer tly_abc", nil),
        ("Bearer ", nil), ("Bearer   ", nil),
    ] as [(String, String?)])
    func theCredentialIsReadOffTheHeader(header: String, expected: String?) {
        #expect(AuthMiddleware.bearerToken(header) == expected)
    }
}
