import Core
import Metering
import Testing

@Suite struct MeterQueryTests {
    let meter = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "n", groupBy: ["model": "data.model", "customer": "subject"])

    func state(_ values: [String]) -> MeterState {
        var state = MeterState()
        for (index, value) in values.enumerated() {
            state.apply(MeterReading(meter: "tokens", time: Int64(index), eventID: "e\(index)", value: .number(Quantity(value)!), dimensions: [:]))
        }
        return state
    }

    var rows: [(windowStart: Int64, groupKey: String, state: MeterState)] {
        [
            (0, GroupKey.encode(["model": "s", "customer": "a"]), state(["1", "2"])),
            (60, GroupKey.encode(["model": "s", "customer": "b"]), state(["4"])),
            (3600, GroupKey.encode(["model": "l", "customer": "a"]), state(["0.5"])),
            (7200, GroupKey.encode(["model": "l"]), state(["10"])),
        ]
    }

    @Test func hourlyWindowsKeepEveryDimension() {
        let query = MeterQuery(from: 0, to: 10_800, window: .hour)
        let points = query.evaluate(meter: meter, rollups: rows, distinct: [])
        #expect(points.map(\.windowStart) == [0, 0, 3600, 7200])
        #expect(points[0].value == Quantity(3))
        #expect(points[1].value == Quantity(4))
        #expect(points[3].group == ["model": "l"])
    }

    @Test func regroupingMergesDroppedDimensions() {
        let query = MeterQuery(from: 0, to: 86_400, window: .day, groupBy: ["model"])
        let points = query.evaluate(meter: meter, rollups: rows, distinct: [])
        #expect(points.count == 2)
        #expect(points.first { $0.group == ["model": "s"] }?.value == Quantity(7))
        #expect(points.first { $0.group == ["model": "l"] }?.value == Quantity("10.5"))
        let total = MeterQuery(from: 0, to: 86_400, window: .day, groupBy: []).evaluate(meter: meter, rollups: rows, distinct: [])
        #expect(total.map(\.value) == [Quantity("17.5")])
    }

    @Test func subjectFilterUsesTheSubjectDimension() {
        let query = MeterQuery(from: 0, to: 86_400, window: .day, groupBy: [], subject: "a")
        #expect(query.evaluate(meter: meter, rollups: rows, distinct: []).map(\.value) == [Quantity("3.5")])
    }

    @Test func rangeBoundsSelectWindows() {
        let query = MeterQuery(from: 3600, to: 7200, window: .hour)
        #expect(query.evaluate(meter: meter, rollups: rows, distinct: []).map(\.windowStart) == [3600])
        #expect(query.windowRange == (3600, 7200))
        #expect(MeterQuery(from: 30, to: 90, window: .minute).windowRange == (0, 120))
    }

    @Test func uniqueCountCountsDistinctValuesAcrossMergedWindows() {
        let users = MeterDefinition(slug: "users", eventType: "login", aggregation: .uniqueCount, valuePath: "u")
        let tenant = TenantID.generate()
        func item(_ window: Int64, _ value: String) -> DistinctValue {
            DistinctValue(key: RollupKey(tenantID: tenant, meter: "users", windowStart: window, groupKey: "{}"), value: value)
        }
        var counted = MeterState()
        counted.count = 4
        let rollups: [(windowStart: Int64, groupKey: String, state: MeterState)] = [(0, "{}", counted), (60, "{}", counted)]
        let points = MeterQuery(from: 0, to: 3600, window: .hour).evaluate(meter: users, rollups: rollups, distinct: [item(0, "ana"), item(0, "bo"), item(60, "ana")])
        #expect(points.map(\.value) == [Quantity(2)])
    }

    @Test func validation() {
        #expect(throws: TallyError.self) { try MeterQuery(from: 10, to: 10, window: .hour).validate(for: meter) }
        #expect(throws: TallyError.self) { try MeterQuery(from: 0, to: 60 * 20_000, window: .minute).validate(for: meter) }
        #expect(throws: TallyError.self) { try MeterQuery(from: 0, to: 60, window: .minute, groupBy: ["nope"]).validate(for: meter) }
        let noSubject = MeterDefinition(slug: "n", eventType: "e", aggregation: .count, valuePath: nil)
        #expect(throws: TallyError.self) { try MeterQuery(from: 0, to: 60, window: .minute, subject: "a").validate(for: noSubject) }
        #expect(throws: Never.self) { try MeterQuery(from: 0, to: 86_400 * 365, window: .day, groupBy: ["model"], subject: "a").validate(for: meter) }
    }
}

@Suite struct MeterQueryTotalTests {
    @Test func totalsMergeEverything() {
        let meter = MeterDefinition(slug: "t", eventType: "e", aggregation: .max, valuePath: "n", groupBy: ["customer": "subject"])
        func state(_ value: String) -> MeterState {
            var state = MeterState()
            state.apply(MeterReading(meter: "t", time: 0, eventID: "e", value: .number(Quantity(value)!), dimensions: [:]))
            return state
        }
        let rows: [(windowStart: Int64, groupKey: String, state: MeterState)] = [
            (0, GroupKey.encode(["customer": "a"]), state("3")), (600, GroupKey.encode(["customer": "b"]), state("9")),
        ]
        #expect(MeterQuery(from: 0, to: 3600, window: .day).total(meter: meter, rollups: rows, distinct: []) == Quantity(9))
        #expect(MeterQuery(from: 0, to: 3600, window: .day, subject: "a").total(meter: meter, rollups: rows, distinct: []) == Quantity(3))
        #expect(MeterQuery(from: 0, to: 3600, window: .day).total(meter: meter, rollups: [], distinct: []) == nil)
        let sum = MeterDefinition(slug: "s", eventType: "e", aggregation: .sum, valuePath: "n")
        #expect(MeterQuery(from: 0, to: 3600, window: .day).total(meter: sum, rollups: [], distinct: []) == .zero)
    }
}
