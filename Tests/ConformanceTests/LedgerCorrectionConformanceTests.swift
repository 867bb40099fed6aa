import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// Meter changes and event corrections, on every backend: the catalog version guards ingest,
/// a new or changed meter counts the whole ledger, and voids and amendments keep the rollups
/// equal to a recomputation from the events as they count now.
@Suite struct LedgerCorrectionConformanceTests {
    static let base = LedgerConformanceTests.base
    let support = LedgerConformanceTests()

    /// Rollups of every meter against a recomputation from the ledger's effective events.
    static func expectRollupsMatchLedger(_ ledger: any LedgerStore, _ scope: TenantScope, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let catalog = try await ledger.meterCatalog(in: scope)
        for meter in catalog.meters {
            let events = try await ledger.events(in: scope, type: meter.eventType, from: .min, to: .max)
            let expected = RollupBatch.recomputed(tenantID: scope.tenantID, catalog: MeterCatalog(version: 0, meters: [meter]), events: events)
            let rows = try await ledger.rollups(in: scope, meter: meter.slug, fromWindow: .min, toWindow: .max)
            let actual = Dictionary(uniqueKeysWithValues: rows.map { (RollupKey(tenantID: scope.tenantID, meter: meter.slug, windowStart: $0.windowStart, groupKey: $0.groupKey), $0.state) })
            #expect(actual == expected.states, "meter \(meter.slug)", sourceLocation: sourceLocation)
            let distinct = try await ledger.distinctValues(in: scope, meter: meter.slug, fromWindow: .min, toWindow: .max)
            #expect(Set(distinct) == expected.distinct, "meter \(meter.slug) distinct values", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: TestBackend.available)
    func staleCatalogBooksNothing(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await support.tenant(storage.store, "acme")
            let v1 = try await storage.ledger.insertMeter(LedgerConformanceTests.meters[0], in: scope, at: Date()).version
            let old = support.entry(scope, id: "a", time: Self.base, tokens: "1", model: "m", user: "u", subject: nil, meters: [LedgerConformanceTests.meters[0]], version: v1)
            let v2 = try await storage.ledger.insertMeter(LedgerConformanceTests.meters[1], in: scope, at: Date()).version
            #expect(v2 == v1 + 1)
            await #expect(throws: StaleMeterCatalog(tenants: [scope.tenantID])) { try await storage.ledger.append([old]) }
            #expect(try await storage.ledger.events(in: scope, type: "llm", from: .min, to: .max).isEmpty)
            let fresh = support.entry(
                scope, id: "a", time: Self.base, tokens: "1", model: "m", user: "u", subject: nil, meters: Array(LedgerConformanceTests.meters.prefix(2)), version: v2
            )
            #expect(try await storage.ledger.append([fresh]) == [.accepted])
            try await Self.expectRollupsMatchLedger(storage.ledger, scope)

            // A tenant that does not exist books nothing, even alongside one that does.
            let ghost = TenantScope(credentialTenant: TenantID.generate())
            let orphan = support.entry(ghost, id: "g", time: Self.base, tokens: "1", model: "m", user: "u", subject: nil, meters: [], version: 0)
            let other = support.entry(scope, id: "b", time: Self.base, tokens: "1", model: "m", user: "u", subject: nil, meters: Array(LedgerConformanceTests.meters.prefix(2)), version: v2)
            await #expect(throws: TallyError.notFound("tenant")) { try await storage.ledger.append([other, orphan]) }
            #expect(try await storage.ledger.countEvents(in: ghost, source: "//test") == 0)
            #expect(try await storage.ledger.countEvents(in: scope, source: "//test") == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func newAndChangedMetersCountTheWholeLedger(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await support.tenant(storage.store, "acme")
            // Events booked with no meter at all (version 0), one without the value a later meter reads.
            var entries = (0..<50).map { i in
                support.entry(scope, id: "e\(i)", time: Self.base + Int64(i) * 7_000_000, tokens: "\(i)", model: i % 2 == 0 ? "s" : "l",
                              user: "u\(i % 3)", subject: "c\(i % 4)", meters: [], version: 0)
            }
            entries.append(LedgerEntry(
                tenantID: scope.tenantID, event: UsageEvent(id: "no-tokens", source: "//test", type: "llm", subject: nil, time: Self.base, data: [:]),
                receivedAt: Self.base, readings: [], catalogVersion: 0
            ))
            #expect(try await storage.ledger.append(entries).allSatisfy { $0 == .accepted })
            for meter in LedgerConformanceTests.meters { _ = try await storage.ledger.insertMeter(meter, in: scope, at: Date()) }
            let tokens = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max)
            #expect(tokens.reduce(Quantity.zero) { $0 + $1.state.sum } == Quantity((0..<50).reduce(0, +)))
            try await Self.expectRollupsMatchLedger(storage.ledger, scope)

            // Regroup `tokens` by subject and turn `peak` into a COUNT: both recomputed.
            let regrouped = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens", groupBy: ["customer": "subject"])
            let catalog = try await storage.ledger.updateMeter(regrouped, in: scope, at: Date())
            #expect(catalog.meter("tokens") == regrouped)
            _ = try await storage.ledger.updateMeter(MeterDefinition(slug: "peak", eventType: "llm", aggregation: .count, valuePath: nil), in: scope, at: Date())
            let byCustomer = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max)
            #expect(Set(byCustomer.map(\.groupKey)) == Set((0..<4).map { GroupKey.encode(["customer": "c\($0)"]) }))
            try await Self.expectRollupsMatchLedger(storage.ledger, scope)

            await #expect(throws: TallyError.self) {
                _ = try await storage.ledger.updateMeter(MeterDefinition(slug: "nope", eventType: "x", aggregation: .count, valuePath: nil), in: scope, at: Date())
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func correctionsKeepRollupsEqualToARecomputation(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await support.tenant(storage.store, "acme")
            let other = try await support.tenant(storage.store, "other")
            var version: Int64 = 0
            for meter in LedgerConformanceTests.meters {
                version = try await storage.ledger.insertMeter(meter, in: scope, at: Date()).version
                _ = try await storage.ledger.insertMeter(meter, in: other, at: Date())
            }
            var generator = SystemRandomNumberGenerator()
            let entries = (0..<300).map { i in
                support.entry(
                    scope, id: "e\(i)", time: Self.base + Int64.random(in: 0..<(10 * 60_000_000), using: &generator),
                    tokens: "\(Int.random(in: 0...900, using: &generator)).\(Int.random(in: 0...9, using: &generator))",
                    model: ["s", "l"].randomElement(using: &generator)!, user: "u\(Int.random(in: 0...5, using: &generator))",
                    subject: Bool.random(using: &generator) ? "c\(Int.random(in: 0...2, using: &generator))" : nil, version: version
                )
            }
            _ = try await storage.ledger.append(entries)
            let now = Self.base + 3_600_000_000
            var voided = Set<String>()
            for (step, entry) in entries.shuffled(using: &generator).prefix(90).enumerated() {
                let id = entry.event.id
                if step % 3 == 0 {
                    let history = try await storage.ledger.correct(
                        source: "//test", eventID: id, CorrectionRequest(kind: .void, reason: "duplicate meter read"), in: scope, policy: .standard, now: now
                    )
                    #expect(history.isVoided)
                    voided.insert(id)
                } else {
                    let data: [String: JSONValue] = [
                        "tokens": .string("\(Int.random(in: 0...900, using: &generator))"), "model": .string(["s", "l", "x"].randomElement(using: &generator)!),
                        "user": .string("u\(Int.random(in: 0...5, using: &generator))"),
                    ]
                    let subject: CorrectionRequest.SubjectChange = Bool.random(using: &generator) ? .keep : .set("c9")
                    let history = try await storage.ledger.correct(
                        source: "//test", eventID: id, CorrectionRequest(kind: .amend, subject: subject, data: data), in: scope, policy: .standard, now: now
                    )
                    #expect(history.effective?.data == data)
                }
            }
            let effective = try await storage.ledger.events(in: scope, type: "llm", from: .min, to: .max)
            #expect(effective.count == 300 - voided.count)
            #expect(effective.allSatisfy { !voided.contains($0.id) })
            try await Self.expectRollupsMatchLedger(storage.ledger, scope)
            // The other tenant's ledger is untouched by this one's corrections.
            #expect(try await storage.ledger.events(in: other, type: "llm", from: .min, to: .max).isEmpty)
        }
    }

    @Test(arguments: TestBackend.available)
    func badCorrectionsAreRefusedAndChangeNothing(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let scope = try await support.tenant(storage.store, "acme")
            let version = try await LedgerConformanceTests().defineMeters(LedgerConformanceTests.meters, in: scope, storage.ledger)
            let entry = support.entry(scope, id: "a", time: Self.base, tokens: "10", model: "s", user: "u", subject: "c", version: version)
            _ = try await storage.ledger.append([entry])
            let now = Self.base + 60_000_000
            func refusal(_ request: CorrectionRequest, id: String = "a", policy: EventTimePolicy = .standard, now: Int64 = now) async -> TallyError? {
                do {
                    _ = try await storage.ledger.correct(source: "//test", eventID: id, request, in: scope, policy: policy, now: now)
                    return nil
                } catch {
                    return error as? TallyError
                }
            }
            let rowsBefore = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max)

            #expect(await refusal(CorrectionRequest(kind: .void), id: "missing")?.code == .notFound)
            #expect(await refusal(CorrectionRequest(kind: .amend, data: ["tokens": "ten", "model": "s", "user": "u"]))?.code.rawValue == "meter_value_invalid")
            #expect(await refusal(CorrectionRequest(kind: .amend, data: ["model": "s"]))?.code.rawValue == "meter_value_missing")
            let tooLate = Self.base + 36 * 86_400_000_000
            #expect(await refusal(CorrectionRequest(kind: .void), now: tooLate)?.code.rawValue == "event_too_old")
            #expect(try await storage.ledger.history(source: "//test", eventID: "a", in: scope)?.corrections.isEmpty == true)
            #expect(try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max) == rowsBefore)

            // Backfill lifts the horizon; a void is final.
            var backfill = EventTimePolicy.standard
            backfill.backfill = true
            #expect(await refusal(CorrectionRequest(kind: .void, reason: "test"), policy: backfill, now: tooLate) == nil)
            #expect(await refusal(CorrectionRequest(kind: .void))?.code == .eventVoided)
            #expect(await refusal(CorrectionRequest(kind: .amend, data: ["tokens": "1"]))?.code == .eventVoided)
            let history = try #require(try await storage.ledger.history(source: "//test", eventID: "a", in: scope))
            #expect(history.corrections.map(\.kind) == [.void])
            #expect(history.corrections.first?.reason == "test")
            #expect(history.event.data["tokens"] == .string("10"))  // the original never changes
            #expect(try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max).isEmpty)
        }
    }
}
