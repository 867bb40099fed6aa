import Core
import Foundation
import Testing

@Suite struct APIKeyTokenTests {
    @Test func generatedTokenRoundTripsAndEmbedsTheKeyID() throws {
        let id = APIKeyID.generate()
        let token = APIKeyToken.generate(keyID: id)
        #expect(token.text.hasPrefix("tly_"))
        #expect(token.text.count == 4 + 26 + 1 + 43)
        let parsed = try #require(APIKeyToken(parsing: token.text))
        #expect(parsed.keyID == id)
        #expect(parsed.digest == token.digest)
        #expect(token.digest.count == 64)
        #expect(token.displayPrefix == String(token.text.prefix(12)))
    }

    @Test func digestIsSHA256Hex() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        #expect(APIKeyToken.digest(of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func malformedTokensAreRejected() {
        let good = APIKeyToken.generate(keyID: .generate()).text
        #expect(APIKeyToken(parsing: String(good.dropLast())) == nil)
        #expect(APIKeyToken(parsing: "xly_" + good.dropFirst(4)) == nil)
        #expect(APIKeyToken(parsing: String(good.dropLast()) + "-") == nil)
        #expect(APIKeyToken(parsing: "Bearer " + good) == nil)
        #expect(APIKeyToken(parsing: "") == nil)
    }

    @Test func aTokenMatchesItsOwnDigestAndNoOther() throws {
        let token = APIKeyToken.generate(keyID: .generate())
        let other = APIKeyToken.generate(keyID: token.keyID)
        #expect(token.matches(digest: token.digest))
        #expect(token.matches(digest: APIKeyToken.digest(of: token.text)))
        #expect(!token.matches(digest: other.digest))
        // One nibble off, at the start and at the end; upper case; short; long; empty.
        let digest = Array(token.digest.utf8)
        for index in [0, 1, 62, 63] {
            var changed = digest
            changed[index] = changed[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            #expect(!token.matches(digest: String(decoding: changed, as: UTF8.self)), "nibble \(index)")
        }
        if token.digest.contains(where: \.isLetter) { #expect(!token.matches(digest: token.digest.uppercased())) }
        #expect(!token.matches(digest: String(token.digest.dropLast())))
        #expect(!token.matches(digest: token.digest + "0"))
        #expect(!token.matches(digest: ""))
    }
}
