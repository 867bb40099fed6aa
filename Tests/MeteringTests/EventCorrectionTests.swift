import Core
import Metering
import Testing

@Suite struct EventCorrectionTests {
    static let meter = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens")
    static let catalog = MeterCatalog(version: 3, meters: [meter])
    static let event = UsageEvent(id: "e1", source: "//a", type: "llm", subject: "c1", time: 1_000, data: ["tokens": 5, "model": "s"])

    @Test func anEventWithoutCorrectionsIsItself() {
        let history = EventHistory(event: Self.event, receivedAt: 2_000, corrections: [])
        #expect(history.effective == Self.event)
        #expect(!history.isVoided)
    }

    @Test func amendmentsReplaceDataAndKeepOrChangeTheSubject() throws {
        var history = EventHistory(event: Self.event, receivedAt: 2_000, corrections: [])
        let first = try history.next(CorrectionRequest(kind: .amend, data: ["tokens": 9]), catalog: Self.catalog, now: 5).get()
        #expect(first.sequence == 1)
        #expect(first.subject == "c1")  // kept
        history.corrections.append(first)
        #expect(history.effective?.data == ["tokens": 9])
        let second = try history.next(CorrectionRequest(kind: .amend, subject: .set(nil)), catalog: Self.catalog, now: 6).get()
        #expect(second.sequence == 2)
        #expect(second.data == ["tokens": 9])  // data kept from the first amendment
        history.corrections.append(second)
        #expect(history.effective?.subject == nil)
        #expect(history.effective?.id == "e1" && history.effective?.time == 1_000)
    }

    @Test func aVoidIsFinal() throws {
        var history = EventHistory(event: Self.event, receivedAt: 2_000, corrections: [])
        history.corrections.append(try history.next(CorrectionRequest(kind: .void, reason: "dup"), catalog: Self.catalog, now: 5).get())
        #expect(history.isVoided)
        #expect(history.effective == nil)
        #expect(history.next(CorrectionRequest(kind: .void), catalog: Self.catalog, now: 6).failureCode == "event_voided")
        #expect(history.next(CorrectionRequest(kind: .amend, data: [:]), catalog: Self.catalog, now: 6).failureCode == "event_voided")
    }

    @Test func anAmendmentMustSatisfyEveryMeter() {
        let history = EventHistory(event: Self.event, receivedAt: 2_000, corrections: [])
        #expect(history.next(CorrectionRequest(kind: .amend, data: ["tokens": "x"]), catalog: Self.catalog, now: 5).failureCode == "meter_value_invalid")
        #expect(history.next(CorrectionRequest(kind: .amend, data: [:]), catalog: Self.catalog, now: 5).failureCode == "meter_value_missing")
        // Without a meter of its type, any data goes.
        #expect(history.next(CorrectionRequest(kind: .amend, data: [:]), catalog: .empty, now: 5).failureCode == nil)
    }

    @Test func requestBodiesAreParsedStrictly() throws {
        #expect(try CorrectionRequest.parse(.void, body: nil).get() == CorrectionRequest(kind: .void))
        #expect(try CorrectionRequest.parse(.void, body: ["reason": "r"]).get().reason == "r")
        #expect(CorrectionRequest.parse(.void, body: ["data": [:]]).failureField == "data")
        #expect(CorrectionRequest.parse(.void, body: [1]).failureCode == "invalid_body")
        #expect(CorrectionRequest.parse(.void, body: ["reason": .string(String(repeating: "x", count: 1025))]).failureField == "reason")
        #expect(CorrectionRequest.parse(.amend, body: nil).failureCode == "missing_attribute")
        #expect(CorrectionRequest.parse(.amend, body: ["data": "x"]).failureField == "data")
        #expect(CorrectionRequest.parse(.amend, body: ["data": ["k": "a\u{0}b"]]).failureCode == "invalid_data")
        #expect(CorrectionRequest.parse(.amend, body: ["subject": ""]).failureField == "subject")
        #expect(CorrectionRequest.parse(.amend, body: ["subject": 5]).failureField == "subject")
        #expect(try CorrectionRequest.parse(.amend, body: ["subject": nil]).get().subject == .set(nil))
        #expect(try CorrectionRequest.parse(.amend, body: ["data": ["n": 1]]).get() == CorrectionRequest(kind: .amend, data: ["n": 1]))
    }

    @Test func recomputingSkipsWhatAMeterCannotRead() {
        let events = [Self.event, UsageEvent(id: "e2", source: "//a", type: "llm", subject: nil, time: 2_000, data: [:])]
        let (states, _) = RollupBatch.recomputed(tenantID: TenantID("ten_01ARZ3NDEKTSV4RRFFQ69G5FAV")!, catalog: Self.catalog, events: events)
        #expect(states.values.map(\.sum) == [Quantity(5)])
        #expect(states.values.map(\.count) == [1])
    }
}

@Suite struct MeterPatchTests {
    static let meter = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens", groupBy: ["m": "data.model"])

    @Test func absentFieldsStayAndNullRemovesTheValuePath() throws {
        #expect(try MeterPatch(aggregation: .max).apply(to: Self.meter).aggregation == .max)
        #expect(try MeterPatch(aggregation: .max).apply(to: Self.meter).groupBy == ["m": "data.model"])
        let count = try MeterPatch(aggregation: .count, valuePath: .some(nil)).apply(to: Self.meter)
        #expect(count.valuePath == nil && count.aggregation == .count)
    }

    @Test func theResultIsValidated() {
        func field(_ patch: MeterPatch) -> String? {
            do {
                _ = try patch.apply(to: Self.meter)
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(MeterPatch(aggregation: .count)) == "value_path")  // COUNT takes no value path
        #expect(field(MeterPatch(eventType: "")) == "event_type")
        var renamed = MeterPatch()
        renamed.slug = "other"
        #expect(field(renamed) == "slug")
    }
}

@Suite struct TenantMeteringSettingsTests {
    @Test func defaultsAndOverrides() throws {
        #expect(try TenantMeteringSettings.policy(from: [:]) == .standard)
        let policy = try TenantMeteringSettings.policy(from: ["metering": ["backfill": true, "lateness_horizon_days": 7]])
        #expect(policy.backfill)
        #expect(policy.latenessHorizon == .seconds(7 * 86_400))
        #expect(try TenantMeteringSettings.policy(from: ["other": 1]) == .standard)
    }

    @Test func badSettingsNameTheirField() {
        let cases: [([String: JSONValue], String)] = [
            (["metering": 1], "settings.metering"),
            (["metering": ["backfill": 1]], "settings.metering.backfill"),
            (["metering": ["lateness_horizon_days": 1.5]], "settings.metering.lateness_horizon_days"),
            (["metering": ["lateness_horizon_days": 3651]], "settings.metering.lateness_horizon_days"),
            (["metering": ["x": true]], "settings.metering.x"),
        ]
        for (settings, field) in cases {
            do {
                _ = try TenantMeteringSettings.policy(from: settings)
                Issue.record("\(settings) accepted")
            } catch {
                #expect(error.field == field)
            }
        }
    }
}

extension Result {
    var failureCode: String? {
        if case .failure(let error) = self, let rejection = error as? EventRejection { return rejection.code }
        return nil
    }

    var failureField: String? {
        if case .failure(let error) = self, let rejection = error as? EventRejection { return rejection.field }
        return nil
    }
}
