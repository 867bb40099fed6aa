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

    /// Parses a presented bearer token; `nil` when it is not shaped like a Tally key. Checked
    /// byte by byte in place: this runs on every authenticated request.
    public init?(parsing text: String) {
        let prefixLength = Self.prefix.utf8.count
        let utf8 = text.utf8
        guard utf8.count == prefixLength + 26 + 1 + Self.secretLength, text.hasPrefix(Self.prefix) else { return nil }
        var index = utf8.index(utf8.startIndex, offsetBy: prefixLength)
        let bodyStart = index
        for _ in 0..<26 {
            guard Crockford.value(of: utf8[index]) != nil else { return nil }
            utf8.formIndex(after: &index)
        }
        let bodyEnd = index
        guard utf8[index] == UInt8(ascii: "_") else { return nil }
        utf8.formIndex(after: &index)
        guard utf8[index...].allSatisfy(Self.isBase62) else { return nil }
        self.keyID = APIKeyID(trusted: APIKeyKind.prefix + "_" + String(Substring(utf8[bodyStart..<bodyEnd])))
        self.text = text
    }

    static func isBase62(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    /// The SHA-256 digest that is stored in place of the token, as lowercase hex.
    public var digest: String { Self.digest(of: text) }

    /// The digest of any token text, as lowercase hex.
    public static func digest(of text: String) -> String {
        Array(SHA256.hash(data: Array(text.utf8))).hexString
    }

    /// The start of the token, safe to show in lists so people can tell keys apart.
    public var displayPrefix: String { String(text.prefix(Self.prefix.count + 8)) }

    /// Whether this token's SHA-256 digest is `hexDigest` (lowercase hex, as stored), compared
    /// in time independent of where they differ. No copies: the token's bytes are hashed in
    /// place and the digest is compared nibble by nibble against the stored text (this runs on
    /// every authenticated request).
    public func matches(digest hexDigest: String) -> Bool {
        var text = text
        var hasher = SHA256()
        text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let digest = hasher.finalize()
        var stored = hexDigest
        return stored.withUTF8 { hex in
            guard hex.count == SHA256.byteCount * 2 else { return false }
            return digest.withUnsafeBytes { bytes in
                var difference: UInt8 = 0
                for (index, byte) in bytes.enumerated() {
                    difference |= hex[2 * index] ^ Self.hexDigits[Int(byte >> 4)]
                    difference |= hex[2 * index + 1] ^ Self.hexDigits[Int(byte & 0xF)]
                }
                return difference == 0
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
