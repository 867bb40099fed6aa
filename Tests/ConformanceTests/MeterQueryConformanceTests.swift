import Core
import Foundation
import Metering
import Storage
import TallyTestSupport
import Testing

/// Meter queries against a recomputation from the raw events, on every backend: random events
/// across a daylight-saving change, read back per local day and per hour in a time zone, must
/// equal what an independent calendar computation of the same events gives.
@Suite struct MeterQueryConformanceTests {
    /// 2026-10-31T12:00:00Z: America/New_York leaves daylight saving on 1 November at 06:00Z.
    static let start: Int64 = 1_793_448_000

    @Test(arguments: TestBackend.available)
    func zonedWindowsEqualACalendarRecomputation(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let support = LedgerConformanceTests()
            let scope = try await support.tenant(storage.store, "acme")
            let meter = MeterDefinition(slug: "tokens", eventType: "llm", aggregation: .sum, valuePath: "tokens", groupBy: ["model": "data.model"])
            let version = try await storage.ledger.insertMeter(meter, in: scope, at: Date()).version
            var generator = SystemRandomNumberGenerator()
            let entries = (0..<400).map { index in
                let time = (Self.start + Int64.random(in: 0..<(3 * 86_400), using: &generator)) * 1_000_000 + Int64.random(in: 0..<1_000_000, using: &generator)
                return support.entry(
                    scope, id: "e\(index)", time: time, tokens: "\(Int.random(in: 1...999, using: &generator)).5", model: ["a", "b"].randomElement(using: &generator)!,
                    user: "u", subject: nil, meters: [meter], version: version
                )
            }
            _ = try await storage.ledger.append(entries)

            let zone = try #require(TimeZone(identifier: "America/New_York"))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let rows = try await storage.ledger.rollups(in: scope, meter: "tokens", fromWindow: .min, toWindow: .max)
            let rollups = rows.map { (windowStart: $0.windowStart, groupKey: $0.groupKey, state: $0.state) }
            let events = try await storage.ledger.events(in: scope, type: "llm", from: .min, to: .max)

            for window in [WindowSize.day, .hour] {
                let query = MeterQuery(from: Self.start - 86_400, to: Self.start + 4 * 86_400, window: window, groupBy: ["model"], timeZone: zone)
                let points = query.evaluate(meter: meter, rollups: rollups, distinct: [])
                // Independently: each event's local day (or hour) start, by the calendar.
                var expected: [String: Quantity] = [:]
                for event in events {
                    let date = Date(timeIntervalSince1970: Double(event.time) / 1_000_000)
                    let interval = try #require(calendar.dateInterval(of: window == .day ? .day : .hour, for: date))
                    guard case .string(let model)? = event.data["model"], case .string(let text)? = event.data["tokens"], let tokens = Quantity(text) else {
                        Issue.record("unexpected event data \(event.data)")
                        continue
                    }
                    let key = "\(Int64(interval.start.timeIntervalSince1970))|\(model)"
                    expected[key] = (expected[key] ?? .zero).adding(tokens)!
                }
                let actual = Dictionary(uniqueKeysWithValues: points.map { ("\($0.windowStart)|\($0.group["model"] ?? "")", $0.value) })
                #expect(actual == expected, "\(window) windows")
                if window == .day {
                    // 1 November is 25 hours long in New York.
                    let november1 = try #require(query.grid?.boundaries.first { RFC3339.format(microseconds: $0 * 1_000_000, offsetSeconds: -14_400).hasPrefix("2026-11-01T00:00") })
                    let longDay = try #require(query.grid?.window(startingAt: november1))
                    #expect(longDay.end - longDay.start == Int64(25 * 3_600))
                }
            }
        }
    }
}
