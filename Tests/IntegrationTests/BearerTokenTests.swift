@testable import HTTPFront
import Testing

/// `Authorization: Bearer <key>`: the scheme in any case, the key without the spaces and tabs
/// around it (HTTP's optional whitespace; other whitespace is part of what was sent, and fails
/// as a key), any other scheme refused, and so is a scheme with no key.
@Suite struct BearerTokenTests {
    @Test(arguments: [
        ("Bearer tly_abc", "tly_abc"), ("bearer tly_abc", "tly_abc"), ("BEARER  tly_abc ", "tly_abc"), ("BeArEr\ttly_abc", nil),
        ("Bearer \ttly_abc\t ", "tly_abc"), ("Bearer tly_a bc", "tly_a bc"), ("Bearer tly_abc\u{00A0}", "tly_abc\u{00A0}"),
        ("Bearer tly_é", "tly_é"),
        ("Basic dXNlcjpwYXNz", nil), ("Bearertly_abc", nil), ("Bearer", nil), ("Bearers tly_abc", nil), ("Béarer tly_abc", nil),
        ("Bearer ", nil), ("Bearer   ", nil), ("Bearer \t \t", nil),
    ] as [(String, String?)])
    func theCredentialIsReadOffTheHeader(header: String, expected: String?) {
        #expect(AuthMiddleware.bearerToken(header) == expected)
    }
}
