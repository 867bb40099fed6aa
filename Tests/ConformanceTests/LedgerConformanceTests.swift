import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// The ledger's guarantees, on every backend: exactly once, rollups equal to a recomputation
/// from the raw events, and tenant confinement.
@Suite struct LedgerConformanceTests {
    static let base: Int64 = 1_795_860_000_000_000  // 2026-11-28T10:00:00Z in microseconds

    static let meters = [
        MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens", groupBy: ["model": "data.model"]),
        MeterDefinition(slug: "calls", eventType: "llm", aggregation: .count, valuePath: nil, groupBy: ["customer": "subject"]),
        MeterDefinition(slug: "peak", eventType: "llm", aggregation: .max, valuePath: "tokens"),
        MeterDefinition(slug: "floor", eventType: "llm", aggregation: .min, valuePath: "tokens"),
        MeterDefinition(slug: "last", eventType: "llm", aggregation: .latest, valuePath: "tokens"),
        MeterDefinition(slug: "users", eventType: "llm", aggregation: .uniqueCount, valuePath: "user"),
    ]

    func tenant(_ store: any PlatformStore, _ slug: String) async throws -> TenantScope {
        let now = Date()
        let tenant = Tenant(id: .generate(), slug: slug, name: slug, status: .active, settings: [:], createdAt: now, updatedAt: now)
        try await store.insertTenant(tenant)
        return TenantScope(credentialTenant: tenant.id)
    }

    func entry(
        _ scope: TenantScope, id: String, time: Int64, tokens: String, model: String, user: String, subject: String?,
        meters: [MeterDefinition] = LedgerConformanceTests.meters, version: Int64
    ) -> LedgerEntry {
        let event = UsageEvent(id: id, source: "//test", type: "llm", subject: subject, time: time,
                               data: ["tokens": .string(tokens), "model": .string(model), "user": .string(user)])
        let readings = meters.compactMap { try? $0.reading(of: event)?.get() }
        return LedgerEntry(tenantID: scope.tenantID, event: event, receivedAt: time, readings: readings, catalogVersion: version)
    }

    /// Defines the meters and returns the tenant's catalog version after them.
    func defineMeters(_ meters: [MeterDefinition], in scope: TenantScope, _ ledger: any LedgerStore) async throws -> Int64 {
        var version: Int64 = 0
        for meter in meters { version = try await ledger.insertMeter(meter, in: scope, at: Date()).version }
        return version
    }

    @Test(arguments: TestBackend.available)
    func appendIsExactlyOnce(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await tenant(storage.store, "acme")
            let v = try await defineMeters(Self.meters, in: scope, storage.ledger)
            let a = entry(scope, id: "a", time: Self.base, tokens: "10", model: "s", user: "u1", subject: "c1", version: v)
            let b = entry(scope, id: "b", time: Self.base + 1, tokens: "5", model: "s", user: "u1", subject: "c1", version: v)
            #expect(try await storage.ledger.append([a, b, a]) == [.accepted, .accepted, .duplicate])
            #expect(try await storage.ledger.append([b, a]) == [.duplicate, .duplicate])
            let events = try await storage.ledger.events(in: scope, type: "llm", from: 0, to: .max)
            #expect(events.map(\.id) == ["a", "b"])
            let rows = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: 0, toWindow: .max)
            #expect(rows.count == 1)
            #expect(rows.first?.state.sum == Quantity(15))
            #expect(rows.first?.state.count == 2)
            #expect(rows.first?.groupKey == GroupKey.encode(["model": "s"]))
        }
    }

    @Test(arguments: TestBackend.available)
    func batchedReadsAgreeWithPerTenantReadsAndSeeOnlyTheNamedTenants(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let a = try await tenant(storage.store, "batch-a"), b = try await tenant(storage.store, "batch-b"), c = try await tenant(storage.store, "batch-c")
            var generator = SystemRandomNumberGenerator()
            for scope in [a, b, c] {
                let v = try await defineMeters(Self.meters, in: scope, storage.ledger)
                let entries = (0..<40).map { index in
                    entry(scope, id: "e\(index)", time: Self.base + Int64(index) * 17_000_000, tokens: "\(Int.random(in: 1...500, using: &generator)).25",
                          model: index % 2 == 0 ? "s" : "l", user: "u\(index % 3)", subject: "c\(index % 4)", version: v)
                }
                _ = try await storage.ledger.append(entries)
            }
            let from = Self.base / 1_000_000 - 60, to = Self.base / 1_000_000 + 300
            let totals = try await storage.ledger.meterTotals(of: [a, b], meters: ["tokens", "calls"], fromWindow: from, toWindow: to)
            #expect(Set(totals.keys) == [a.tenantID, b.tenantID])
            for scope in [a, b] {
                for meter in ["tokens", "calls"] {
                    let one = try await storage.ledger.meterTotals(in: scope, meter: meter, fromWindow: from, toWindow: to)
                    #expect(totals[scope.tenantID]?[meter]?.count == one.count && totals[scope.tenantID]?[meter]?.sum == one.sum)
                }
            }
            let meters = try await storage.ledger.meters(of: [b, c])
            #expect(Set(meters.keys) == [b.tenantID, c.tenantID])
            #expect(meters[c.tenantID]?.map(\.slug) == Self.meters.map(\.slug).sorted())
            #expect(try await storage.ledger.meters(of: []).isEmpty)
        }
    }

    /// Long ranges read whole days from the day rollups (PostgreSQL) and the edges from the
    /// minutes: the totals must equal the minute rollups' over every range, through appends,
    /// corrections and a meter recompute.
    @Test(arguments: TestBackend.available)
    func multiDayTotalsAgreeWithTheMinuteRollupsThroughCorrectionsAndRecomputes(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let a = try await tenant(storage.store, "days-a"), b = try await tenant(storage.store, "days-b")
            var generator = SystemRandomNumberGenerator()
            let start = Self.base - 5 * 86_400_000_000  // five days back, mid-morning
            var versions: [TenantScope: Int64] = [:]
            for scope in [a, b] {
                let v = try await defineMeters(Self.meters, in: scope, storage.ledger)
                versions[scope] = v
                let entries = (0..<120).map { index in
                    entry(scope, id: "d\(index)", time: start + Int64(index) * 3_600_000_000 + Int64.random(in: 0..<3_600_000_000, using: &generator),
                          tokens: "\(Int.random(in: 1...900, using: &generator)).5", model: index % 3 == 0 ? "s" : "l", user: "u", subject: "c", version: v)
                }
                _ = try await storage.ledger.append(entries)
            }
            func check(_ label: String) async throws {
                let lo = start / 1_000_000
                for (from, to) in [(lo - 3_600, lo + 6 * 86_400), (lo + 7_200, lo + 3 * 86_400 + 60), (lo + 86_400 - lo % 86_400, lo + 3 * 86_400 - lo % 86_400),
                                   (lo + 600, lo + 1_200), (lo + 86_400 - lo % 86_400 - 60, lo + 86_400 - lo % 86_400 + 60)] {
                    let batch = try await storage.ledger.meterTotals(of: [a, b], meters: ["tokens", "calls"], fromWindow: from, toWindow: to)
                    for scope in [a, b] {
                        for meter in ["tokens", "calls"] {
                            let one = try await storage.ledger.meterTotals(in: scope, meter: meter, fromWindow: from, toWindow: to)
                            let got = batch[scope.tenantID]?[meter] ?? (0, .zero)
                            #expect(got.count == one.count && got.sum == one.sum, "\(label) \(meter) [\(from), \(to)): \(got) vs \(one)")
                        }
                    }
                }
            }
            try await check("after appends")
            let now = Self.base + 60_000_000
            for id in ["d30", "d31", "d77"] {
                _ = try await storage.ledger.correct(source: "//test", eventID: id, CorrectionRequest(kind: .void, reason: "test"), in: a, policy: .standard, now: now)
            }
            _ = try await storage.ledger.correct(source: "//test", eventID: "d50", CorrectionRequest(kind: .amend, data: ["tokens": "1000000", "model": "s", "user": "u"]),
                                                 in: b, policy: .standard, now: now)
            try await check("after corrections")
            _ = try await storage.ledger.updateMeter(MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens"), in: a, at: Date())
            try await check("after a recompute")
        }
    }

    @Test(arguments: TestBackend.available)
    func meterSlugsAreUniquePerTenant(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let a = try await tenant(storage.store, "a-co"), b = try await tenant(storage.store, "b-co")
            _ = try await storage.ledger.insertMeter(Self.meters[0], in: a, at: Date())
            _ = try await storage.ledger.insertMeter(Self.meters[0], in: b, at: Date())
            do {
                _ = try await storage.ledger.insertMeter(Self.meters[0], in: a, at: Date())
                Issue.record("duplicate slug accepted")
            } catch let error as TallyError {
                #expect(error.code == .conflict)
            }
            #expect(try await storage.ledger.meters(in: a) == [Self.meters[0]])
        }
    }

    @Test(arguments: TestBackend.available)
    func rollupsEqualARecomputationFromRawEvents(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await tenant(storage.store, "acme")
            let other = try await tenant(storage.store, "other")
            let versions = [
                scope.tenantID: try await defineMeters(Self.meters, in: scope, storage.ledger),
                other.tenantID: try await defineMeters(Self.meters, in: other, storage.ledger),
            ]
            var generator = SystemRandomNumberGenerator()
            let models = ["small", "large", "edge"], users = ["u1", "u2", "u3", "u4", ""]  // "" is a distinct value too
            var all: [LedgerEntry] = []
            for index in 0..<600 {
                let time = Self.base + Int64.random(in: 0..<(15 * 60_000_000), using: &generator)  // 15 minutes of windows
                let tokens = "\(Int.random(in: 0...5000, using: &generator)).\(Int.random(in: 0...999, using: &generator))"
                all.append(entry(
                    index % 5 == 0 ? other : scope, id: "evt-\(index)", time: time, tokens: tokens,
                    model: models.randomElement(using: &generator)!, user: users.randomElement(using: &generator)!,
                    subject: Bool.random(using: &generator) ? "cust-\(Int.random(in: 0...3, using: &generator))" : nil,
                    version: versions[index % 5 == 0 ? other.tenantID : scope.tenantID]!
                ))
            }
            // Random batches, every event sent at least once, a third of them again (retries).
            var sends = all + all.filter { _ in Int.random(in: 0..<3, using: &generator) == 0 }
            sends.shuffle(using: &generator)
            var accepted = 0
            while !sends.isEmpty {
                let size = min(sends.count, Int.random(in: 1...120, using: &generator))
                accepted += try await storage.ledger.append(Array(sends.prefix(size))).filter { $0 == .accepted }.count
                sends.removeFirst(size)
            }
            #expect(accepted == all.count)

            for meter in Self.meters {
                // Recompute from the ledger's own raw events, with the pure types.
                let events = try await storage.ledger.events(in: scope, type: "llm", from: 0, to: .max)
                var expected: [String: MeterState] = [:]
                var expectedDistinct: [String: Set<String>] = [:]
                for event in events {
                    guard case .success(let reading)? = meter.reading(of: event) else { continue }
                    let window = WindowSize.minute.bucketStart(containing: RollupBatch.floorSeconds(reading.time))
                    let key = "\(window)|\(GroupKey.encode(reading.dimensions))"
                    expected[key, default: MeterState()].apply(reading)
                    if case .distinct(let value) = reading.value { expectedDistinct[key, default: []].insert(value) }
                }
                let rows = try await storage.ledger.rollups(in: scope, meter: meter.slug, fromWindow: 0, toWindow: .max)
                let actual = Dictionary(uniqueKeysWithValues: rows.map { ("\($0.windowStart)|\($0.groupKey)", $0.state) })
                #expect(actual == expected, "meter \(meter.slug)")
                if meter.aggregation == .uniqueCount {
                    let distinct = try await storage.ledger.distinctValues(in: scope, meter: meter.slug, fromWindow: 0, toWindow: .max)
                    let actualDistinct = Dictionary(grouping: distinct, by: { "\($0.key.windowStart)|\($0.key.groupKey)" }).mapValues { Set($0.map(\.value)) }
                    #expect(actualDistinct == expectedDistinct)
                }
            }
            // The other tenant's events never leak into this tenant's reads.
            let scoped = try await storage.ledger.events(in: scope, type: "llm", from: 0, to: .max)
            #expect(scoped.count == all.filter { $0.tenantID == scope.tenantID }.count)
        }
    }

    @Test(arguments: TestBackend.available)
    func concurrentOverlappingAppendsAcceptEachEventOnce(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await tenant(storage.store, "acme")
            let v = try await defineMeters([Self.meters[0]], in: scope, storage.ledger)
            let entries = (0..<200).map { entry(scope, id: "e\($0)", time: Self.base, tokens: "1", model: "m", user: "u", subject: nil, meters: [Self.meters[0]], version: v) }
            let ledger = storage.ledger
            let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var total = 0
                        for start in stride(from: worker * 10, to: 200, by: 50) {  // overlapping slices
                            let slice = Array(entries[start..<min(start + 60, entries.count)])
                            total += try await ledger.append(slice).filter { $0 == .accepted }.count
                        }
                        return total
                    }
                }
                return try await group.reduce(0, +)
            }
            let covered = Set((0..<6).flatMap { worker in stride(from: worker * 10, to: 200, by: 50).flatMap { Array($0..<min($0 + 60, 200)) } })
            #expect(accepted == covered.count)
            let rows = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: 0, toWindow: .max)
            #expect(rows.first?.state.sum == Quantity(covered.count))
            #expect(rows.first?.state.count == Int64(covered.count))
        }
    }
}
