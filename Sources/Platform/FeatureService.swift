import Core
import Entitlements
import Storage

/// The feature catalog: operators define features; every tenant may read them.
public struct FeatureService: Sendable {
    let store: any EntitlementStore
    let clock: any TallyClock

    public init(store: any EntitlementStore, clock: any TallyClock) {
        self.store = store
        self.clock = clock
    }

    /// Adds a feature after validating it; `conflict` when the key is taken.
    public func create(_ feature: Feature) async throws -> Feature {
        var feature = feature
        feature.name = feature.name.trimmingWhitespace()
        try feature.validate()
        try await store.insertFeature(feature, at: clock.now())
        return feature
    }

    public func list() async throws -> [Feature] {
        try await store.features()
    }

    /// The feature, or `not_found`.
    public func get(_ key: String) async throws -> Feature {
        guard let feature = try await store.feature(key: key) else { throw TallyError.notFound("feature") }
        return feature
    }
}
