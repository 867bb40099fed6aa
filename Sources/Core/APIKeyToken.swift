import Crypto

/// The secret text of an API key: `tly_<26-char key id body>_<43 base62 characters>`.
///
/// The `tly_` prefix makes leaked keys recognisable to secret scanners; the key id inside lets
/// the server find the stored record without scanning; the 43 base62 characters carry 256 bits
/// of randomness. Only the SHA-256 digest of the whole token is stored: with that much entropy
/// a slow password hash adds nothing but latency on every request.
public struct APIKeyToken: Sendable, Equatable {
    /// The prefix every Tally API key starts with.
    public static let prefix = "tly_"
    static let secretLength = 43
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The key's identifier (public).
    public let keyID: APIKeyID
    /// The whole token text (secret).
    public let text: String

    /// A fresh token for a fresh key id.
    public static func generate(keyID: APIKeyID) -> APIKeyToken {
        var generator = SystemRandomNumberGenerator()
        var secret = [UInt8]()
        secret.reserveCapacity(secretLength)
        for _ in 0..<secretLength {
            secret.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        let body = keyID.rawValue.dropFirst(APIKeyKind.prefix.count + 1)
        return APIKeyToken(keyID: keyID, text: prefix + body + "_" + String(decoding: secret, as: UTF8.self))
    }

    private init(keyID: APIKeyID, text: String) {
        self.keyID = keyID
        self.text = text
    }

    /// Parses a presented bearer token; `nil` when it is not shaped like a Tally key.
    public init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        let prefixLength = Self.prefix.utf8.count
        guard utf8.count == prefixLength + 26 + 1 + Self.secretLength,
              text.hasPrefix(Self.prefix),
              utf8[prefixLength + 26] == UInt8(ascii: "_") else { return nil }
        let body = String(decoding: utf8[prefixLength..<(prefixLength + 26)], as: UTF8.self)
        guard let keyID = APIKeyID(APIKeyKind.prefix + "_" + body),
              utf8[(prefixLength + 27)...].allSatisfy({ Self.alphabet.contains($0) }) else { return nil }
        self.keyID = keyID
        self.text = text
    }

    /// The SHA-256 digest that is stored in place of the token, as lowercase hex.
    public var digest: String { Self.digest(of: text) }

    /// The digest of any token text, as lowercase hex.
    public static func digest(of text: String) -> String {
        Array(SHA256.hash(data: Array(text.utf8))).hexString
    }

    /// The start of the token, safe to show in lists so people can tell keys apart.
    public var displayPrefix: String { String(text.prefix(Self.prefix.count + 8)) }

    /// Compares two hex digests in time independent of where they differ.
    public static func digestsMatch(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
