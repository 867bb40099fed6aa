import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

/// The driver conformance suite: every case runs against every backend in `TestBackend.available`
/// (River's `riverdrivertest` is the model), so the embedded default cannot drift from production.
@Suite struct PlatformStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func tenant(_ slug: String, status: TenantStatus = .active, at date: Date? = nil) -> Tenant {
        let at = date ?? now
        return Tenant(id: .generate(at: at), slug: slug, name: "Tenant \(slug)", status: status, settings: ["tier": .string("gold"), "seats": .number(5)], createdAt: at, updatedAt: at)
    }

    func key(tenant: TenantID?, identity: ServiceIdentityID? = nil, at date: Date? = nil) -> APIKey {
        let at = date ?? now
        let id = APIKeyID.generate(at: at)
        let token = APIKeyToken.generate(keyID: id)
        return APIKey(
            id: id, tenantID: tenant, serviceIdentityID: identity, name: "key", displayPrefix: token.displayPrefix, digest: token.digest,
            scopes: tenant == nil ? [.operator] : [.keysRead, .eventsWrite], createdAt: at
        )
    }

    @Test(arguments: TestBackend.available)
    func migrationsApplyOnceAndRecordChecksums(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            #expect(try await storage.migrations.migrate() == [])
            let applied = try await storage.migrations.appliedMigrations()
            let dialect: SQLDialect = backend == .sqlite ? .sqlite : .postgres
            #expect(applied.map(\.version) == Migration.embedded(dialect).map(\.version))
            #expect(applied.map(\.checksum) == Migration.embedded(dialect).map(\.checksum))
        }
    }

    @Test(arguments: TestBackend.available)
    func anEditedAppliedMigrationIsRefused(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ async throws in
            try await TestBackend.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", on: storage)
            await #expect(throws: MigrationError.self) { try await storage.migrations.migrate() }
            do {
                _ = try await storage.migrations.migrate()
            } catch let error as MigrationError {
                guard case .checksumMismatch(let version, _, _, _) = error else {
                    Issue.record("expected checksumMismatch, got \(error)")
                    return
                }
                #expect(version == 1)
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func concurrentMigrationsFromSeparateNodesApplyOnce(backend: TestBackend) async throws {
        try await backend.withFreshSettings { settings in
            // Two independent connections (as two nodes would have) race on an empty database.
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { try await $0.migrations.migrate() }
                    }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            let dialect: SQLDialect = backend == .sqlite ? .sqlite : .postgres
            #expect(results.flatMap { $0 }.sorted() == Migration.embedded(dialect).map(\.version))
            #expect(results.contains([]))
        }
    }

    @Test(arguments: TestBackend.available)
    func tenantsRoundTripAndSlugsAreUnique(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let acme = tenant("acme")
            try await store.insertTenant(acme)
            let read = try #require(try await store.tenant(id: acme.id))
            #expect(read.slug == "acme")
            #expect(read.settings == acme.settings)
            #expect(read.status == .active)
            #expect(abs(read.createdAt.timeIntervalSince(acme.createdAt)) < 0.001)
            #expect(try await store.tenant(slug: "acme")?.id == acme.id)
            #expect(try await store.tenant(slug: "nope") == nil)

            let duplicate = tenant("acme")
            do {
                try await store.insertTenant(duplicate)
                Issue.record("duplicate slug was accepted")
            } catch let error as TallyError {
                #expect(error.code == .conflict)
                #expect(error.field == "slug")
            }
            #expect(try await store.tenant(id: duplicate.id) == nil)
        }
    }

    @Test(arguments: TestBackend.available)
    func tenantListsPageInIdOrder(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            var ids: [TenantID] = []
            for index in 0..<5 {
                let t = tenant("t\(index)", at: now.addingTimeInterval(Double(index)))
                try await store.insertTenant(t)
                ids.append(t.id)
            }
            let first = try await store.listTenants(PageRequest(limit: 2))
            #expect(first.items.map(\.id) == Array(ids[0..<2]))
            let second = try await store.listTenants(PageRequest(limit: 2, after: first.nextCursor))
            #expect(second.items.map(\.id) == Array(ids[2..<4]))
            let last = try await store.listTenants(PageRequest(limit: 2, after: second.nextCursor))
            #expect(last.items.map(\.id) == [ids[4]])
            #expect(last.nextCursor == nil)
        }
    }

    @Test(arguments: TestBackend.available)
    func tenantUpdatesAreConditionalOnStatus(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let acme = tenant("acme")
            try await store.insertTenant(acme)
            let later = now.addingTimeInterval(60)
            let updated = try #require(try await store.updateTenant(
                acme.id, expectedStatus: .active, change: TenantChange(name: "Acme Inc", status: .suspended, settings: ["a": .bool(true)]), at: later
            ))
            #expect(updated.name == "Acme Inc")
            #expect(updated.status == .suspended)
            #expect(updated.settings == ["a": .bool(true)])
            #expect(abs(updated.updatedAt.timeIntervalSince(later)) < 0.001)
            // A stale expectation changes nothing.
            #expect(try await store.updateTenant(acme.id, expectedStatus: .active, change: TenantChange(name: "X"), at: later) == nil)
            #expect(try await store.tenant(id: acme.id)?.name == "Acme Inc")
            // Leaving fields out keeps them.
            let renamed = try #require(try await store.updateTenant(acme.id, expectedStatus: .suspended, change: TenantChange(name: "Acme"), at: later))
            #expect(renamed.status == .suspended)
            #expect(renamed.settings == ["a": .bool(true)])
        }
    }

    @Test(arguments: TestBackend.available)
    func keysAreConfinedToTheirTenant(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let a = tenant("a"), b = tenant("b")
            try await store.insertTenant(a)
            try await store.insertTenant(b)
            let keyA = key(tenant: a.id), keyB = key(tenant: b.id)
            try await store.insertAPIKey(keyA)
            try await store.insertAPIKey(keyB)
            let scopeA = TenantScope(credentialTenant: a.id)

            #expect(try await store.apiKeys(in: scopeA, PageRequest()).items.map(\.id) == [keyA.id])
            #expect(try await store.apiKey(keyA.id, in: scopeA)?.digest == keyA.digest)
            #expect(try await store.apiKey(keyB.id, in: scopeA) == nil)
            #expect(try await store.revokeAPIKey(keyB.id, in: scopeA, at: now) == nil)
            #expect(try await store.revokeAPIKey(keyB.id, in: nil, at: now) == nil)
            #expect(try await store.credential(for: keyB.id)?.key.revokedAt == nil)
        }
    }

    @Test(arguments: TestBackend.available)
    func credentialsCarryTenantStatusAndRevocationKeepsTheFirstTime(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let a = tenant("a", status: .suspended)
            try await store.insertTenant(a)
            let tenantKey = key(tenant: a.id), operatorKey = key(tenant: nil)
            try await store.insertAPIKey(tenantKey)
            try await store.insertAPIKey(operatorKey)

            let credential = try #require(try await store.credential(for: tenantKey.id))
            #expect(credential.tenantStatus == .suspended)
            #expect(credential.key.scopes == [.eventsWrite, .keysRead])
            #expect(try await store.credential(for: operatorKey.id)?.tenantStatus == nil)
            #expect(try await store.credential(for: .generate()) == nil)
            #expect(try await store.countActiveOperatorKeys() == 1)
            #expect(try await store.operatorKeys(PageRequest()).items.map(\.id) == [operatorKey.id])

            let first = try #require(try await store.revokeAPIKey(operatorKey.id, in: nil, at: now))
            let second = try #require(try await store.revokeAPIKey(operatorKey.id, in: nil, at: now.addingTimeInterval(100)))
            #expect(abs(try #require(first.revokedAt).timeIntervalSince(now)) < 0.001)
            #expect(second.revokedAt == first.revokedAt)
            #expect(try await store.countActiveOperatorKeys() == 0)
            // An operator-key revocation never touches tenant keys.
            #expect(try await store.revokeAPIKey(tenantKey.id, in: nil, at: now) == nil)
        }
    }

    @Test(arguments: TestBackend.available)
    func keyUsageNeverMovesBackwards(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let k1 = key(tenant: nil), k2 = key(tenant: nil)
            try await store.insertAPIKey(k1)
            try await store.insertAPIKey(k2)
            try await store.recordKeyUsage([k1.id: now.addingTimeInterval(10), k2.id: now])
            try await store.recordKeyUsage([k1.id: now])
            let used1 = try #require(try await store.credential(for: k1.id)?.key.lastUsedAt)
            let used2 = try #require(try await store.credential(for: k2.id)?.key.lastUsedAt)
            #expect(abs(used1.timeIntervalSince(now.addingTimeInterval(10))) < 0.001)
            #expect(abs(used2.timeIntervalSince(now)) < 0.001)
        }
    }

    @Test(arguments: TestBackend.available)
    func aKeyForAMissingTenantIsRefused(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ async throws in
            let orphan = key(tenant: .generate())
            await #expect(throws: TallyError.self) { try await storage.store.insertAPIKey(orphan) }
            #expect(try await storage.store.credential(for: orphan.id) == nil)
        }
    }

    @Test(arguments: TestBackend.available)
    func bootstrapIsClaimedExactlyOnceUnderConcurrency(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await store.claimBootstrapStep("operator_key", at: now) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func serviceIdentitiesAreScopedAndDisablingRevokesTheirKeys(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let store = storage.store
            let a = tenant("a"), b = tenant("b")
            try await store.insertTenant(a)
            try await store.insertTenant(b)
            let scopeA = TenantScope(credentialTenant: a.id), scopeB = TenantScope(credentialTenant: b.id)
            let robot = ServiceIdentity(id: .generate(), tenantID: a.id, name: "billing-sync", description: "syncs", createdAt: now)
            try await store.insertServiceIdentity(robot)
            do {
                try await store.insertServiceIdentity(ServiceIdentity(id: .generate(), tenantID: a.id, name: "billing-sync", description: "", createdAt: now))
                Issue.record("duplicate name accepted")
            } catch let error as TallyError {
                #expect(error.code == .conflict)
            }
            // Another tenant may reuse the name.
            try await store.insertServiceIdentity(ServiceIdentity(id: .generate(), tenantID: b.id, name: "billing-sync", description: "", createdAt: now))

            let owned = key(tenant: a.id, identity: robot.id), loose = key(tenant: a.id)
            try await store.insertAPIKey(owned)
            try await store.insertAPIKey(loose)

            #expect(try await store.serviceIdentities(in: scopeA, PageRequest()).items.map(\.id) == [robot.id])
            #expect(try await store.serviceIdentity(robot.id, in: scopeB) == nil)
            #expect(try await store.disableServiceIdentity(robot.id, in: scopeB, at: now) == nil)
            #expect(try await store.credential(for: owned.id)?.key.revokedAt == nil)

            let disabled = try #require(try await store.disableServiceIdentity(robot.id, in: scopeA, at: now))
            #expect(disabled.disabledAt != nil)
            #expect(try await store.credential(for: owned.id)?.key.revokedAt != nil)
            #expect(try await store.credential(for: loose.id)?.key.revokedAt == nil)
        }
    }
}
