#if canImport(FoundationEssentials)
import FoundationEssentials
import FoundationInternationalization
#else
import Foundation
#endif

/// The windows a query reports: consecutive instants (Unix seconds) from the first window's
/// start to the last one's end, each with the UTC offset in force there. In UTC they are fixed
/// arithmetic; in a time zone, day windows run from local midnight to local midnight (23 or 25
/// hours across a daylight-saving change) and hour windows follow the zone's offset (on the
/// half hour in Asia/Kolkata). Minute rollups always fit inside, as every zone's offset is a
/// whole number of minutes.
public struct WindowGrid: Sendable, Equatable {
    /// Window starts in ascending order, then the end of the last window.
    public let boundaries: [Int64]
    /// The UTC offset (seconds) at each boundary, for formatting.
    public let offsets: [Int32]

    public init(boundaries: [Int64], offsets: [Int32]) {
        precondition(boundaries.count == offsets.count)
        self.boundaries = boundaries
        self.offsets = offsets
    }

    /// How many windows.
    public var count: Int { max(0, boundaries.count - 1) }
    /// From the first window's start to the last window's end.
    public var range: (from: Int64, to: Int64) { (boundaries.first ?? 0, boundaries.last ?? 0) }

    /// The start of the window that holds `timestamp`, or `nil` outside the grid.
    public func windowStart(containing timestamp: Int64) -> Int64? {
        guard let first = boundaries.first, let last = boundaries.last, timestamp >= first, timestamp < last else { return nil }
        var low = 0, high = boundaries.count - 1  // boundaries[low] <= timestamp < boundaries[high]
        while high - low > 1 {
            let middle = (low + high) / 2
            if boundaries[middle] <= timestamp { low = middle } else { high = middle }
        }
        return boundaries[low]
    }

    /// The window after the one starting at `start`, with both boundaries' offsets.
    public func window(startingAt start: Int64) -> (start: Int64, startOffset: Int32, end: Int64, endOffset: Int32)? {
        guard let index = index(of: start), index + 1 < boundaries.count else { return nil }
        return (start, offsets[index], boundaries[index + 1], offsets[index + 1])
    }

    private func index(of boundary: Int64) -> Int? {
        var low = 0, high = boundaries.count
        while low < high {
            let middle = (low + high) / 2
            if boundaries[middle] < boundary { low = middle + 1 } else { high = middle }
        }
        return low < boundaries.count && boundaries[low] == boundary ? low : nil
    }

    /// UTC windows covering `from..<to` (the start floored, the end ceiled), or `nil` when there
    /// would be more than `limit`.
    public static func utc(_ window: WindowSize, from: Int64, to: Int64, limit: Int) -> WindowGrid? {
        let first = window.bucketStart(containing: from)
        let end = window.bucketStart(containing: to - 1) + window.seconds
        let count = (end - first) / window.seconds
        guard count <= Int64(limit) else { return nil }
        let boundaries = Array(stride(from: first, through: end, by: Int(window.seconds)))
        return WindowGrid(boundaries: boundaries, offsets: Array(repeating: 0, count: boundaries.count))
    }

    /// Windows of `zone` covering `from..<to`, or `nil` when there would be more than `limit`.
    public static func zoned(_ window: WindowSize, zone: TimeZone, from: Int64, to: Int64, limit: Int) -> WindowGrid? {
        if window == .minute || (zone.secondsFromGMT() == 0 && zone.nextDaylightSavingTimeTransition == nil) {
            return utc(window, from: from, to: to, limit: limit)
        }
        // A cheap bound first: a zoned window is never shorter than 23 hours (days) or 1 hour.
        let shortest: Int64 = window == .day ? 82_800 : 3_600
        guard (to - from) / shortest <= Int64(limit) + 2 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let component: Calendar.Component = window == .day ? .day : .hour
        func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
        guard let firstInterval = calendar.dateInterval(of: component, for: Date(timeIntervalSince1970: Double(from))) else { return nil }
        var boundaries = [seconds(firstInterval.start)]
        var offsets = [Int32(zone.secondsFromGMT(for: firstInterval.start))]
        var cursor = firstInterval
        while boundaries.last! < to {
            let next = cursor.end
            boundaries.append(seconds(next))
            offsets.append(Int32(zone.secondsFromGMT(for: next)))
            guard boundaries.count - 1 <= limit else { return nil }
            guard let interval = calendar.dateInterval(of: component, for: next) else { return nil }
            cursor = interval
        }
        return WindowGrid(boundaries: boundaries, offsets: offsets)
    }
}
