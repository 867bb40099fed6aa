import Core
import Metering
import Testing

@Suite struct MeterDefinitionTests {
    let tokens = MeterDefinition(
        slug: "llm-tokens", eventType: "llm.completion", aggregation: .sum, valuePath: "usage.tokens",
        groupBy: ["model": "data.model", "customer": "subject"]
    )

    func event(type: String = "llm.completion", data: [String: JSONValue], subject: String? = "cust-1") -> UsageEvent {
        UsageEvent(id: "e1", source: "s", type: type, subject: subject, time: 1_000, data: data)
    }

    @Test func validDefinitionsPass() throws {
        try tokens.validate()
        try MeterDefinition(slug: "requests", eventType: "api.request", aggregation: .count, valuePath: nil).validate()
        try MeterDefinition(slug: "users_active", eventType: "login", aggregation: .uniqueCount, valuePath: "user").validate()
    }

    @Test(arguments: [
        (MeterDefinition(slug: "x", eventType: "t", aggregation: .count, valuePath: nil), "slug"),
        (MeterDefinition(slug: "-bad", eventType: "t", aggregation: .count, valuePath: nil), "slug"),
        (MeterDefinition(slug: "ok", eventType: "", aggregation: .count, valuePath: nil), "event_type"),
        (MeterDefinition(slug: "ok", eventType: "t", aggregation: .sum, valuePath: nil), "value_path"),
        (MeterDefinition(slug: "ok", eventType: "t", aggregation: .count, valuePath: "n"), "value_path"),
        (MeterDefinition(slug: "ok", eventType: "t", aggregation: .max, valuePath: "a..b"), "value_path"),
        (MeterDefinition(slug: "ok", eventType: "t", aggregation: .count, valuePath: nil, groupBy: ["Region": "data.r"]), "group_by.Region"),
        (MeterDefinition(slug: "ok", eventType: "t", aggregation: .count, valuePath: nil, groupBy: ["region": "r"]), "group_by.region"),
    ])
    func invalidDefinitionsNameTheField(definition: MeterDefinition, field: String) {
        do {
            try definition.validate()
            Issue.record("accepted \(definition)")
        } catch {
            #expect(error.field == field)
            #expect(error.code == .validationFailed)
        }
    }

    @Test func readingsTakeValueAndDimensions() throws {
        let reading = try tokens.reading(of: event(data: ["usage": ["tokens": 1500], "model": "small"]))?.get()
        #expect(reading?.value == .number(Quantity(1500)))
        #expect(reading?.dimensions == ["model": "small", "customer": "cust-1"])
        let decimalString = try #require(tokens.reading(of: event(data: ["usage": ["tokens": "0.000000001"]], subject: nil)))?.get()
        #expect(decimalString?.value == .number(Quantity("0.000000001")!))
        #expect(decimalString?.dimensions == [:])
    }

    @Test func otherTypesAreNotRead() {
        #expect(tokens.reading(of: event(type: "other", data: [:])) == nil)
    }

    static let unusable: [(tokens: JSONValue?, code: String)] = [
        (nil, "meter_value_missing"),
        (JSONValue.null, "meter_value_missing"),
        (JSONValue.string("lots"), "meter_value_invalid"),
        (JSONValue.number(0.1 + 0.2), "meter_value_invalid"),
        (JSONValue.array([JSONValue.number(1)]), "meter_value_invalid"),
    ]

    @Test(arguments: unusable)
    func unusableValuesAreRejected(tokens: JSONValue?, code: String) {
        var usage: [String: JSONValue] = [:]
        usage["tokens"] = tokens
        let data: [String: JSONValue] = tokens == nil ? ["model": "m"] : ["usage": .object(usage)]
        guard case .failure(let rejection)? = self.tokens.reading(of: event(data: data)) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.code == code)
        #expect(rejection.field == "data.usage.tokens")
    }

    @Test func uniqueCountReadsAnyScalar() throws {
        let users = MeterDefinition(slug: "users", eventType: "login", aggregation: .uniqueCount, valuePath: "user")
        let byName = try users.reading(of: event(type: "login", data: ["user": "ana"]))?.get()
        #expect(byName?.value == .distinct("ana"))
        let byNumber = try users.reading(of: event(type: "login", data: ["user": 42]))?.get()
        #expect(byNumber?.value == .distinct("42"))
    }
}

@Suite struct MeterStateTests {

    func reading(_ value: String?, time: Int64, id: String) -> MeterReading {
        MeterReading(meter: "m", time: time, eventID: id, value: value.map { .number(Quantity($0)!) } ?? .none, dimensions: [:])
    }

    @Test func aggregatesAreExact() {
        var state = MeterState()
        for (index, value) in ["1.5", "2", "-0.5", "10", "0.000000001"].enumerated() {
            state.apply(reading(value, time: Int64(index), id: "e\(index)"))
        }
        #expect(state.value(of: .count) == Quantity(5))
        #expect(state.value(of: .sum) == Quantity("13.000000001"))
        #expect(state.value(of: .min) == Quantity("-0.5"))
        #expect(state.value(of: .max) == Quantity(10))
        #expect(state.value(of: .latest) == Quantity("0.000000001"))
        #expect(state.value(of: .avg) == Quantity("2.6"))
        #expect(MeterState().value(of: .avg) == nil)
        #expect(MeterState().value(of: .count) == .zero)
    }

    @Test func averagesRoundHalfToEven() {
        #expect(MeterState.divideHalfEven(5, by: 2) == 2)
        #expect(MeterState.divideHalfEven(7, by: 2) == 4)
        #expect(MeterState.divideHalfEven(-5, by: 2) == -2)
        #expect(MeterState.divideHalfEven(-7, by: 2) == -4)
        #expect(MeterState.divideHalfEven(10, by: 3) == 3)
        #expect(MeterState.divideHalfEven(20, by: 3) == 7)
    }

    @Test func latestBreaksTiesByEventID() {
        var a = MeterState(), b = MeterState()
        a.apply(reading("1", time: 5, id: "a"))
        a.apply(reading("2", time: 5, id: "b"))
        b.apply(reading("2", time: 5, id: "b"))
        b.apply(reading("1", time: 5, id: "a"))
        #expect(a.value(of: .latest) == Quantity(2))
        #expect(a == b)
    }

    @Test func anySplitMergedInAnyOrderEqualsOnePass() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let readings = (0..<Int.random(in: 0...40, using: &generator)).map { index in
                reading(String(Int.random(in: -1_000_000...1_000_000, using: &generator)) + "." + String(Int.random(in: 0...999, using: &generator)),
                        time: Int64.random(in: 0...20, using: &generator), id: "e\(index)")
            }
            var single = MeterState()
            readings.forEach { single.apply($0) }
            var parts = [MeterState](repeating: MeterState(), count: Int.random(in: 1...5, using: &generator))
            for item in readings.shuffled(using: &generator) { parts[Int.random(in: 0..<parts.count, using: &generator)].apply(item) }
            var merged = MeterState()
            for part in parts.shuffled(using: &generator) { merged.merge(part) }
            #expect(merged == single)
        }
    }

    @Test func overflowIsRefusedNotTrapped() {
        var state = MeterState()
        state.sum = Quantity(billionths: .max - 5)
        let applied = state.apply(reading("1", time: 0, id: "x"))
        #expect(!applied)
        #expect(state.count == 0)
    }
}
