import Core
import Entitlements
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The feature catalog behind one driver protocol: platform-wide rows, no tenant scope (every
/// tenant may read the catalog; only operators change it).
public protocol FeatureStore: Sendable {
    /// Adds a feature; `conflict` (field `key`) when the key is taken.
    func insertFeature(_ feature: Feature, at: Date) async throws
    /// Every feature, by key.
    func features() async throws -> [Feature]
    func feature(key: String) async throws -> Feature?
}

/// How both drivers read a feature row.
enum StoredFeature {
    static func make(key: String, name: String, kind: String, meter: String?) throws -> Feature {
        guard let kind = Feature.Kind(rawValue: kind) else { throw StorageDecodingError(column: "kind") }
        return Feature(key: key, name: name, kind: kind, meter: meter)
    }
}
