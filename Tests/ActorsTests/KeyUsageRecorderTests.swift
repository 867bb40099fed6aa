import Actors
import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

@Suite struct KeyUsageRecorderTests {
    @Test(arguments: TestBackend.available)
    func flushWritesTheLatestUseOfEveryKey(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let keys = (0..<3).map { _ -> APIKey in
                let id = APIKeyID.generate()
                let token = APIKeyToken.generate(keyID: id)
                return APIKey(id: id, tenantID: nil, serviceIdentityID: nil, name: "k", displayPrefix: token.displayPrefix, digest: token.digest, scopes: [.operator], createdAt: now)
            }
            for key in keys { try await storage.store.insertAPIKey(key) }
            let recorder = KeyUsageRecorder(store: storage.store, logger: TestBackend.logger)
            recorder.noteUse(of: keys[0].id, at: now.addingTimeInterval(10))
            recorder.noteUse(of: keys[0].id, at: now.addingTimeInterval(5))  // older: ignored
            recorder.noteUse(of: keys[1].id, at: now.addingTimeInterval(7))
            await recorder.flush()
            let used0 = try await storage.store.credential(for: keys[0].id)?.key.lastUsedAt
            let used1 = try await storage.store.credential(for: keys[1].id)?.key.lastUsedAt
            #expect(abs(try #require(used0).timeIntervalSince(now.addingTimeInterval(10))) < 0.001)
            #expect(abs(try #require(used1).timeIntervalSince(now.addingTimeInterval(7))) < 0.001)
            #expect(try await storage.store.credential(for: keys[2].id)?.key.lastUsedAt == nil)
        }
    }
}
