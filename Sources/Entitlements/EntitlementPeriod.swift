import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
import FoundationInternationalization
#else
import Foundation
#endif

/// The span a metered entitlement's limit applies to.
public enum EntitlementPeriod: Sendable, Equatable {
    /// From the first of the month at local midnight to the first of the next (in `zone`).
    case calendarMonth(zone: TimeZone)
    /// The last `seconds` before now, sliding: usage leaves the window as it ages.
    case rolling(seconds: Int64)
    /// Monthly periods from an anchor instant (a subscription's start): the same day of the
    /// month and time of day, clamped to the month's last day (31 January, then 28 February,
    /// then 31 March), every `months` months.
    case billing(anchor: Int64, months: Int, zone: TimeZone)

    /// The period holding `now` (Unix seconds): where usage counts from, where it ends, and when
    /// the allowance resets (`nil` for a rolling window, which never resets all at once).
    public func window(at now: Int64) -> PeriodWindow {
        switch self {
        case .rolling(let seconds):
            return PeriodWindow(start: now - seconds, end: now, resetsAt: nil)
        case .calendarMonth(let zone):
            let calendar = Self.calendar(zone)
            let date = Date(timeIntervalSince1970: Double(now))
            let interval = calendar.dateInterval(of: .month, for: date)!
            return PeriodWindow(start: Self.seconds(interval.start), end: Self.seconds(interval.end), resetsAt: Self.seconds(interval.end))
        case .billing(let anchor, let months, let zone):
            let calendar = Self.calendar(zone)
            let step = max(1, months)
            // Periods before the anchor count back from it the same way.
            var index = now >= anchor ? Int((now - anchor) / (Int64(step) * 31 * 86_400)) : -Int((anchor - now) / (Int64(step) * 28 * 86_400)) - 1
            while Self.boundary(anchor, index + 1, step, calendar) <= now { index += 1 }
            while Self.boundary(anchor, index, step, calendar) > now { index -= 1 }
            let start = Self.boundary(anchor, index, step, calendar), end = Self.boundary(anchor, index + 1, step, calendar)
            return PeriodWindow(start: start, end: end, resetsAt: end)
        }
    }

    /// The anchor moved `index * step` months, clamped to the target month's length.
    static func boundary(_ anchor: Int64, _ index: Int, _ step: Int, _ calendar: Calendar) -> Int64 {
        let base = Date(timeIntervalSince1970: Double(anchor))
        var parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: base)
        let monthIndex = (parts.year! * 12 + parts.month! - 1) + index * step
        let year = monthIndex >= 0 ? monthIndex / 12 : (monthIndex - 11) / 12
        let month = monthIndex - year * 12 + 1
        let firstOfMonth = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        let days = calendar.range(of: .day, in: .month, for: firstOfMonth)!.count
        parts.year = year
        parts.month = month
        parts.day = min(parts.day!, days)
        return seconds(calendar.date(from: parts)!)
    }

    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}

/// One period of an entitlement, in Unix seconds.
public struct PeriodWindow: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    /// When the allowance starts over; `nil` for rolling windows.
    public var resetsAt: Int64?

    public init(start: Int64, end: Int64, resetsAt: Int64?) {
        self.start = start
        self.end = end
        self.resetsAt = resetsAt
    }
}
