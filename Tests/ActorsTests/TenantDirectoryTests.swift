import Actors
import Core
import Entitlements
import Foundation
import Storage
import Metering
import Synchronization
import TallyTestSupport
import Testing

@Suite struct TenantDirectoryTests {
    static let tenant = TenantID("ten_01ARZ3NDEKTSV4RRFFQ69G5FAV")!
    static let other = TenantID("ten_01ARZ3NDEKTSV4RRFFQ69G5FAW")!

    final class Counter: Sendable {
        let loads = Atomic<Int>(0)
        let version = Atomic<Int64>(1)
    }

    static func directory(
        _ counter: Counter, limits: AdmissionLimits = .defaults, idleAfter: Duration = .seconds(300), quota: @escaping TenantQuota.Loader = { _, _ in QuotaBook() }
    ) -> TenantDirectory {
        let loader = TenantActor.Loader(
            catalog: { _ in
                counter.loads.add(1, ordering: .relaxed)
                return MeterCatalog(version: counter.version.load(ordering: .relaxed), meters: [])
            },
            policy: { _ in .standard },
            quota: quota
        )
        return TenantDirectory(loader: loader, limits: limits, idleAfter: idleAfter, logger: TestBackend.logger)
    }

    @Test func theCatalogIsLoadedOnceAndReloadedWhenStale() async throws {
        let counter = Counter()
        let directory = Self.directory(counter)
        let actor = directory.actor(for: Self.tenant)
        async let a = actor.snapshot()
        async let b = actor.snapshot()
        _ = try await (a, b)
        #expect(try await actor.snapshot().catalog.version == 1)
        #expect(counter.loads.load(ordering: .relaxed) == 1)
        counter.version.store(2, ordering: .relaxed)
        await actor.catalogIsStale(version: 0)  // an older version: keep what we have
        #expect(try await actor.snapshot().catalog.version == 1)
        await actor.catalogIsStale(version: 1)
        #expect(try await actor.snapshot().catalog.version == 2)
        #expect(counter.loads.load(ordering: .relaxed) == 2)
        #expect(directory.actor(for: Self.tenant) === actor)
    }

    @Test func admissionIsBoundedPerTenantAndPerNode() async throws {
        let directory = Self.directory(Counter(), limits: AdmissionLimits(tenantBytes: 100, totalBytes: 150, tenantRequests: 10, totalRequests: 10))
        let refusal: TallyError? = try await directory.withAdmission(Self.tenant, bytes: 80) {
            do {
                try await directory.withAdmission(Self.tenant, bytes: 30) {}
                return nil
            } catch let error as TallyError {
                return error
            }
        }
        #expect(refusal?.code == .tenantOverloaded)
        let nodeRefusal: TallyError? = try await directory.withAdmission(Self.tenant, bytes: 80) {
            do {
                try await directory.withAdmission(Self.other, bytes: 80) {}
                return nil
            } catch let error as TallyError {
                return error
            }
        }
        #expect(nodeRefusal?.code == .serverOverloaded)
        #expect(directory.inFlight(Self.tenant).total == AdmissionLedger())
        // A body that throws still releases its admission.
        await #expect(throws: CancellationError.self) { try await directory.withAdmission(Self.tenant, bytes: 90) { throw CancellationError() } }
        #expect(directory.inFlight(Self.tenant).tenant == AdmissionLedger())
    }

    @Test func idleActorsAreEvictedButBusyOnesStay() async throws {
        let directory = Self.directory(Counter(), idleAfter: .seconds(10))
        _ = directory.actor(for: Self.tenant)
        _ = directory.actor(for: Self.other)
        #expect(directory.activeTenants == 2)
        #expect(directory.evictIdle(now: .now).count == 0)  // used just now
        try await directory.withAdmission(Self.tenant, bytes: 1) {
            #expect(directory.evictIdle(now: .now + .seconds(11)).count == 1)  // the busy tenant stays
        }
        #expect(directory.activeTenants == 1)
        #expect(directory.evictIdle(now: .now + .seconds(11)).count == 1)
        #expect(directory.activeTenants == 0)
    }

    /// A tenant holding a reservation stays until it expires, however idle.
    @Test func aHeldReservationKeepsItsTenant() async throws {
        let window = PeriodWindow(start: 0, end: 10_000, resetsAt: 10_000)
        let directory = Self.directory(Counter(), idleAfter: .seconds(10)) { _, _ in
            QuotaBook(lines: ["calls": QuotaBook.Line(
                feature: "calls", meter: "calls", spec: MeteredSpec(limit: Quantity(10)), window: window, grants: [], used: .zero
            )])
        }
        let quota = directory.actor(for: Self.tenant).quota
        guard case .charged? = try await quota.reserve("calls", amount: Quantity(4), until: 160, now: 100) else {
            Issue.record("not reserved")
            return
        }
        #expect(directory.evictIdle(now: .now + .seconds(11), wallSeconds: 159).isEmpty)
        #expect(directory.evictIdle(now: .now + .seconds(11), wallSeconds: 160).count == 1)
    }
}

@Suite struct IdempotencyJanitorTests {
    @Test func purgesEveryExpiredKeyInBatches() async throws {
        try await TestBackend.sqlite.withBackend { storage, _ in
            let now = Date()
            let tenant = Tenant(id: .generate(), slug: "acme", name: "Acme", status: .active, settings: [:], createdAt: now, updatedAt: now)
            try await storage.store.insertTenant(tenant)
            let scope = TenantScope(credentialTenant: tenant.id)
            let past = now.addingTimeInterval(-1_000)
            for index in 0..<12 {
                _ = try await storage.idempotency.claimIdempotencyKey("k\(index)", in: scope, fingerprint: "f", now: past, lock: .seconds(60), ttl: .seconds(100))
            }
            _ = try await storage.idempotency.claimIdempotencyKey("live", in: scope, fingerprint: "f", now: now, lock: .seconds(60), ttl: .seconds(100))
            let janitor = IdempotencyJanitor(store: storage.idempotency, batch: 5, logger: TestBackend.logger)
            #expect(await janitor.purge() == 12)
            #expect(await janitor.purge() == 0)
            #expect(try await storage.idempotency.claimIdempotencyKey("live", in: scope, fingerprint: "f", now: now, lock: .seconds(60), ttl: .seconds(100)) == .inFlight)
        }
    }
}
