import Core
import Foundation
import Metering
import Testing

@Suite struct WindowGridTests {
    /// 2026-03-29T00:00:00Z: the day Europe/Berlin moves from +01:00 to +02:00 at 01:00Z.
    static let dstDay: Int64 = 1_774_742_400

    @Test func utcWindowsAreFixedArithmetic() throws {
        let grid = try #require(WindowGrid.utc(.hour, from: 1_800, to: 7_201, limit: 10))
        #expect(grid.boundaries == [0, 3_600, 7_200, 10_800])
        #expect(grid.windowStart(containing: 3_599) == 0)
        #expect(grid.windowStart(containing: 10_799) == 7_200)
        #expect(grid.windowStart(containing: 10_800) == nil)
        #expect(grid.windowStart(containing: -1) == nil)
        #expect(WindowGrid.utc(.minute, from: 0, to: 60 * 11, limit: 10) == nil)  // too many windows
    }

    @Test func daysFollowLocalMidnightAcrossDaylightSaving() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let grid = try #require(WindowGrid.zoned(.day, zone: berlin, from: Self.dstDay - 3_600, to: Self.dstDay + 2 * 86_400, limit: 10))
        // `from` is 29 March 00:00+01:00; local midnights follow: 30 March, 31 March, 1 April, all +02:00.
        #expect(grid.boundaries == [Self.dstDay - 3_600, Self.dstDay + 86_400 - 7_200, Self.dstDay + 2 * 86_400 - 7_200, Self.dstDay + 3 * 86_400 - 7_200])
        #expect(grid.boundaries[1] - grid.boundaries[0] == 23 * 3_600)  // the short day
        #expect(grid.offsets == [3_600, 7_200, 7_200, 7_200])
        let window = try #require(grid.window(startingAt: Self.dstDay - 3_600))
        #expect(RFC3339.format(microseconds: window.start * 1_000_000, offsetSeconds: window.startOffset) == "2026-03-29T00:00:00+01:00")
        #expect(RFC3339.format(microseconds: window.end * 1_000_000, offsetSeconds: window.endOffset) == "2026-03-30T00:00:00+02:00")
    }

    @Test func hoursFollowHalfHourOffsets() throws {
        let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
        let grid = try #require(WindowGrid.zoned(.hour, zone: kolkata, from: Self.dstDay, to: Self.dstDay + 7_200, limit: 10))
        #expect(grid.boundaries == [Self.dstDay - 1_800, Self.dstDay + 1_800, Self.dstDay + 5_400, Self.dstDay + 9_000])
        #expect(Set(grid.offsets) == [19_800])
        #expect(RFC3339.format(microseconds: grid.boundaries[0] * 1_000_000, offsetSeconds: 19_800) == "2026-03-29T05:00:00+05:30")
    }

    @Test func minuteWindowsAndUTCZonesUseTheFixedGrid() throws {
        let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
        #expect(WindowGrid.zoned(.minute, zone: kolkata, from: 0, to: 600, limit: 100) == WindowGrid.utc(.minute, from: 0, to: 600, limit: 100))
        let utc = try #require(TimeZone(identifier: "UTC"))
        #expect(WindowGrid.zoned(.day, zone: utc, from: 0, to: 86_400 * 3, limit: 100) == WindowGrid.utc(.day, from: 0, to: 86_400 * 3, limit: 100))
        #expect(WindowGrid.zoned(.hour, zone: kolkata, from: 0, to: 3_600 * 20, limit: 10) == nil)
    }

    @Test func zonedQueriesMergeMinuteRollupsIntoLocalDays() throws {
        let meter = MeterDefinition(slug: "n", eventType: "e", aggregation: .count, valuePath: nil)
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        func rollup(_ at: Int64) -> (windowStart: Int64, groupKey: String, state: MeterState) {
            var state = MeterState()
            state.apply(MeterReading(meter: "n", time: at * 1_000_000, eventID: "\(at)", value: .none, dimensions: [:]))
            return (at, GroupKey.encode([:]), state)
        }
        // 22:30Z on 28 March is 23:30 local (28 March); 23:30Z is 00:30 local on 29 March.
        let rows = [rollup(Self.dstDay - 5_400), rollup(Self.dstDay - 1_800), rollup(Self.dstDay + 3_600)]
        let utc = MeterQuery(from: Self.dstDay - 86_400, to: Self.dstDay + 86_400, window: .day).evaluate(meter: meter, rollups: rows, distinct: [])
        #expect(utc.map(\.value) == [Quantity(2), Quantity(1)])
        let local = MeterQuery(from: Self.dstDay - 86_400, to: Self.dstDay + 86_400, window: .day, timeZone: berlin)
        #expect(local.evaluate(meter: meter, rollups: rows, distinct: []).map(\.value) == [Quantity(1), Quantity(2)])
        #expect(local.evaluate(meter: meter, rollups: rows, distinct: []).map(\.windowStart) == [Self.dstDay - 86_400 - 3_600, Self.dstDay - 3_600])
    }
}
