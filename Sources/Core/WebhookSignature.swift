import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Standard Webhooks signatures (standardwebhooks.com): the signed content is
/// `<webhook-id>.<webhook-timestamp>.<body>`, the signature `v1,<base64 HMAC-SHA256>` under a
/// `whsec_<base64 key>` secret; `webhook-signature` may carry several, space-separated (secret
/// rotation). Pure: the caller passes the time.
public enum WebhookSignature {
    /// A signing key.
    public struct Secret: Sendable, Equatable, CustomStringConvertible {
        public let key: [UInt8]

        /// Parses `whsec_<base64>` (or bare base64); `nil` when it is not base64 of 24 to 64 bytes.
        public init?(_ text: String) {
            let body = text.hasPrefix("whsec_") ? String(text.dropFirst(6)) : text
            guard let data = Data(base64Encoded: body), (24...64).contains(data.count) else { return nil }
            key = Array(data)
        }

        public init(key: [UInt8]) {
            self.key = key
        }

        /// A new random 32-byte secret.
        public static func generate() -> Secret {
            var generator = SystemRandomNumberGenerator()
            return Secret(key: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        }

        /// `whsec_` and the key in base64.
        public var text: String { "whsec_" + Data(key).base64EncodedString() }
        public var description: String { "whsec_…" }
    }

    /// Why a signature was refused.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missingHeader(String)
        case malformedTimestamp
        /// The timestamp is further than the tolerance from now (a replay, or a skewed clock).
        case timestampOutsideTolerance
        case noMatchingSignature

        public var description: String {
            switch self {
            case .missingHeader(let name): "the \(name) header is missing"
            case .malformedTimestamp: "webhook-timestamp must be whole seconds since the epoch"
            case .timestampOutsideTolerance: "webhook-timestamp is too far from now"
            case .noMatchingSignature: "no signature in webhook-signature matches"
            }
        }
    }

    /// The `webhook-signature` value (`v1,<base64>`) for one message.
    public static func sign(id: String, timestamp: Int64, body: some Collection<UInt8>, secret: Secret) -> String {
        "v1," + Data(mac(id: id, timestamp: String(timestamp), body: body, key: secret.key)).base64EncodedString()
    }

    /// Checks a received message against any of `secrets` (old and new while rotating), within
    /// `toleranceSeconds` of `nowSeconds`.
    public static func verify(
        id: String?, timestamp: String?, signatures: String?, body: some Collection<UInt8>, secrets: [Secret], nowSeconds: Int64,
        toleranceSeconds: Int64 = 300
    ) throws(Failure) {
        guard let id, !id.isEmpty else { throw .missingHeader("webhook-id") }
        guard let timestamp, !timestamp.isEmpty else { throw .missingHeader("webhook-timestamp") }
        guard let signatures, !signatures.isEmpty else { throw .missingHeader("webhook-signature") }
        guard let seconds = Int64(timestamp), timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .malformedTimestamp }
        guard abs(nowSeconds - seconds) <= toleranceSeconds else { throw .timestampOutsideTolerance }
        let offered = signatures.split(separator: " ").compactMap { entry -> [UInt8]? in
            guard entry.hasPrefix("v1,"), let data = Data(base64Encoded: String(entry.dropFirst(3))) else { return nil }
            return Array(data)
        }
        for secret in secrets {
            let expected = mac(id: id, timestamp: timestamp, body: body, key: secret.key)
            // Constant-time comparison of equal-length MACs.
            for candidate in offered where candidate.count == expected.count {
                if zip(candidate, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 { return }
            }
        }
        throw .noMatchingSignature
    }

    static func mac(id: String, timestamp: String, body: some Collection<UInt8>, key: [UInt8]) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array(id.utf8))
        hmac.update(data: [0x2E])
        hmac.update(data: Array(timestamp.utf8))
        hmac.update(data: [0x2E])
        hmac.update(data: Array(body))
        return Array(hmac.finalize())
    }
}
