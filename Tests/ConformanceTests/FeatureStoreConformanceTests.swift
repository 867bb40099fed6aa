import Core
import Entitlements
import Foundation
import Storage
import TallyTestSupport
import Testing

@Suite struct FeatureStoreConformanceTests {
    @Test(arguments: TestBackend.available)
    func featuresAreStoredOncePerKey(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let calls = Feature(key: "api-calls", name: "API calls", kind: .metered, meter: "calls")
            let sso = Feature(key: "sso", name: "Single sign-on", kind: .boolean)
            try await storage.features.insertFeature(sso, at: Date())
            try await storage.features.insertFeature(calls, at: Date())
            #expect(try await storage.features.features() == [calls, sso])
            #expect(try await storage.features.feature(key: "sso") == sso)
            #expect(try await storage.features.feature(key: "nope") == nil)
            do {
                try await storage.features.insertFeature(Feature(key: "sso", name: "Other", kind: .static), at: Date())
                Issue.record("a taken key was accepted")
            } catch let error as TallyError {
                #expect(error.code == .conflict && error.field == "key")
            }
            #expect(try await storage.features.feature(key: "sso") == sso)
        }
    }
}
