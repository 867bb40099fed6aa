import Core
import Entitlements
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// `tally seed` loads the repository's config/entitlements.json, config/quotas.json and
/// config/plans.json.
@Suite struct SeedCommandTests {
    static var configDir: String { FileManager.default.currentDirectoryPath + "/config" }

    @Test(arguments: TestBackend.available)
    func seedsTheShippedFilesOnceAndUpdatesOnRequest(backend: TestBackend) async throws {
        try await ProcessTests.withProcessEnvironment(backend) { settings, env in
            let first = try await TallyProcess.run(["seed", "--dir", Self.configDir], env: env)
            #expect(first.status == 0, "\(first.err)")
            #expect(first.out.contains("plans created: enterprise free pro"))
            #expect(first.out.contains("prices created: starter@1 growth@1 payments@1"), "\(first.out)")
            let again = try await TallyProcess.run(["seed", "--dir", Self.configDir], env: env)
            #expect(again.out.contains("plans created: \n"), "\(again.out)")
            #expect(again.out.contains("unchanged: api-calls"))
            #expect(again.out.contains("prices created: \n") && again.out.contains("prices unchanged: starter@1 growth@1 payments@1"), "\(again.out)")

            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                let plans = try await storage.entitlements.plans()
                // The price plans of plans.json are plans too (without entitlements).
                #expect(plans.map(\.key) == ["enterprise", "free", "growth", "payments", "pro", "starter"])
                #expect(try await storage.billing.latestPrices().map(\.key) == ["growth", "payments", "starter"])
                let free = try #require(plans.first { $0.key == "free" })
                #expect(free.entitlements["api-calls"] == .metered(MeteredSpec(limit: Quantity(10_000))))
                #expect(free.entitlements["seats"] == .value(3))
                #expect(free.rateLimits == TenantRateLimits(tenantPerSecond: 20, keyPerSecond: 10))
                #expect(try await storage.entitlements.features().count == 6)
                // An operator's edit survives a plain re-seed and is replaced by --update.
                var edited = free
                edited.name = "Free (edited)"
                _ = try await storage.entitlements.updatePlan(edited, at: Date())
            }
            _ = try await TallyProcess.run(["seed", "--dir", Self.configDir], env: env)
            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                let name = try await storage.entitlements.plan(key: "free")?.name
                #expect(name == "Free (edited)")
            }
            let updated = try await TallyProcess.run(["seed", "--dir", Self.configDir, "--update"], env: env)
            #expect(updated.out.contains("plans updated: enterprise free pro"))
            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                let name = try await storage.entitlements.plan(key: "free")?.name
                #expect(name == "Free")
            }

            let empty = settings.dataDir + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            let missing = try await TallyProcess.run(["seed", "--dir", empty], env: env)
            #expect(missing.status == 1)
            #expect(missing.err.contains("none of"))
            try #"{"plans": {"x1": {"nope": {"limit": 5}}}}"#.write(toFile: empty + "/quotas.json", atomically: true, encoding: .utf8)
            let bad = try await TallyProcess.run(["seed", "--dir", empty], env: env)
            #expect(bad.status == 1)
            #expect(bad.err.contains("plans.x1.entitlements.nope"), "\(bad.err)")
        }
    }
}

@Suite struct SeedDataTests {
    @Test func filesMergeIntoPlans() throws {
        let seed = try SeedData.parse(
            entitlements: ["features": [["key": "sso", "name": "SSO", "kind": "boolean"]], "plans": ["pro": ["name": "Pro", "entitlements": ["sso": ["enabled": true]]]]],
            quotas: ["plans": ["pro": ["calls": ["limit": 5]], "free": ["calls": ["limit": 1]]], "rate_limits": ["pro": ["tenant_per_second": 9]]]
        )
        #expect(seed.features.map(\.key) == ["sso"])
        #expect(seed.plans.map(\.key) == ["free", "pro"])
        #expect(seed.plans[1].entitlements == ["sso": .boolean(true), "calls": .metered(MeteredSpec(limit: Quantity(5)))])
        #expect(seed.plans[1].rateLimits.tenantPerSecond == 9)
        #expect(seed.plans[0].name == "free")
    }

    @Test func errorsNameTheFileAndField() {
        let cases: [(JSONValue?, JSONValue?, String)] = [
            (["features": [["key": "sso", "name": "SSO", "kind": "magic"]]], nil, "entitlements.json.features[0].kind"),
            (["features": [["key": "-x", "name": "X", "kind": "boolean"]]], nil, "entitlements.json.features[0].key"),
            (["colour": 1], nil, "entitlements.json.colour"),
            (nil, ["plans": ["pro": ["calls": ["enabled": true]]]], "quotas.json.plans.pro.calls"),
            (["plans": ["pro": ["name": "Pro", "entitlements": ["calls": ["limit": 1]]]]], ["plans": ["pro": ["calls": ["limit": 2]]]], "quotas.json.plans.pro.calls"),
            (nil, ["rate_limits": ["pro": ["tenant_per_second": -1]]], "quotas.json.rate_limits.pro.tenant_per_second"),
            (nil, ["plans": ["Bad": ["calls": ["limit": 2]]]], "plans.Bad.key"),
        ]
        for (entitlements, quotas, field) in cases {
            do {
                _ = try SeedData.parse(entitlements: entitlements, quotas: quotas)
                Issue.record("accepted \(String(describing: entitlements)) \(String(describing: quotas))")
            } catch {
                #expect(error.field == field)
            }
        }
    }
}
