import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How both drivers write JSON columns (event data, tenant settings): sorted keys, so equal
/// values are equal text; `JSONWriter` and `JSONParser`, as on the ingest path.
enum StoredJSON {
    static func encode(_ object: [String: JSONValue]) throws -> String {
        String(decoding: JSONWriter.encode(.object(object)), as: UTF8.self)
    }

    static func decodeObject(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let members) = try JSONParser.parse(text.utf8) else { throw StorageDecodingError(column: "data") }
        return members
    }
}

/// How both drivers write a key's scopes: space-separated, sorted.
enum StoredScopes {
    static func encode(_ scopes: [Scope]) -> String {
        Set(scopes).sorted().map(\.rawValue).joined(separator: " ")
    }

    /// Unknown scopes (written by a newer version) are dropped rather than granted.
    static func decode(_ text: String) -> [Scope] {
        text.split(separator: " ").compactMap { Scope(String($0)) }
    }
}

/// Column lists both drivers select, in the order their row decoders read them.
enum StoredColumns {
    static let apiKey = [
        "id", "tenant_id", "service_identity_id", "name", "display_prefix", "digest", "scopes",
        "created_at", "last_used_at", "revoked_at", "expires_at",
    ]
}
