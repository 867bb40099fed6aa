import Core

/// A cron schedule (five fields: minute, hour, day of month, month, day of week, in UTC) or one
/// of `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`, or `@every <n>s|m|h` for fixed
/// intervals. Fields take `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*/15`,
/// `0-30/10`); day of week 0-7 (0 and 7 are Sunday). As in cron, when both day fields are
/// restricted a day matches either. Pure: `next(after:)` takes and returns Unix seconds.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case fields(minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>, anyDay: Bool, anyWeekday: Bool)
        case every(seconds: Int64)
    }

    let kind: Kind
    public let description: String

    /// A parse failure naming what is wrong.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(ParseError) {
        let trimmed = text.trimmingWhitespace()
        description = trimmed
        switch trimmed {
        case "@hourly": kind = try Self.fields("0 * * * *")
        case "@daily", "@midnight": kind = try Self.fields("0 0 * * *")
        case "@weekly": kind = try Self.fields("0 0 * * 0")
        case "@monthly": kind = try Self.fields("0 0 1 * *")
        case "@yearly", "@annually": kind = try Self.fields("0 0 1 1 *")
        default:
            if trimmed.hasPrefix("@every ") {
                let amount = trimmed.dropFirst("@every ".count)
                guard let unit = amount.last, let number = Int64(amount.dropLast()), number > 0 else {
                    throw ParseError(description: "@every needs a positive whole number and s, m or h (e.g. @every 30s)")
                }
                switch unit {
                case "s": kind = .every(seconds: number)
                case "m": kind = .every(seconds: number * 60)
                case "h": kind = .every(seconds: number * 3_600)
                default: throw ParseError(description: "@every needs a unit of s, m or h")
                }
            } else {
                kind = try Self.fields(trimmed)
            }
        }
    }

    static func fields(_ text: String) throws(ParseError) -> Kind {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else { throw ParseError(description: "a cron schedule has five fields (minute hour day month weekday), got \(parts.count)") }
        let minutes = try field(parts[0], 0...59, "minute")
        let hours = try field(parts[1], 0...23, "hour")
        let days = try field(parts[2], 1...31, "day of month")
        let months = try field(parts[3], 1...12, "month")
        var weekdays = try field(parts[4], 0...7, "day of week")
        if weekdays.remove(7) != nil { weekdays.insert(0) }
        return .fields(minutes: minutes, hours: hours, days: days, months: months, weekdays: weekdays,
                       anyDay: parts[2] == "*", anyWeekday: parts[4] == "*")
    }

    static func field(_ text: Substring, _ range: ClosedRange<Int>, _ name: String) throws(ParseError) -> Set<Int> {
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw ParseError(description: "bad \(name) field '\(text)'") }
            var step = 1
            if stepParts.count == 2 {
                guard let value = Int(stepParts[1]), value > 0 else { throw ParseError(description: "bad step in the \(name) field '\(text)'") }
                step = value
            }
            let base = stepParts[0]
            var lower = range.lowerBound
            var upper = range.upperBound
            if base != "*" {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...2).contains(bounds.count), let first = Int(bounds[0]) else { throw ParseError(description: "bad \(name) field '\(text)'") }
                lower = first
                upper = first
                if bounds.count == 2 {
                    guard let last = Int(bounds[1]) else { throw ParseError(description: "bad \(name) field '\(text)'") }
                    upper = last
                } else if stepParts.count == 2 {
                    upper = range.upperBound
                }
            }
            guard range.contains(lower), range.contains(upper), lower <= upper else {
                throw ParseError(description: "the \(name) field '\(text)' is outside \(range.lowerBound)-\(range.upperBound)")
            }
            for value in stride(from: lower, through: upper, by: step) { values.insert(value) }
        }
        return values
    }

    /// The first instant strictly after `seconds` (Unix seconds, UTC) the schedule fires.
    public func next(after seconds: Int64) -> Int64 {
        switch kind {
        case .every(let interval):
            return (seconds / interval + 1) * interval
        case .fields(let minutes, let hours, let days, let months, let weekdays, let anyDay, let anyWeekday):
            var minute = seconds / 60 + 1
            // Minute by minute, but skipping whole days and hours that cannot match; a schedule
            // that never fires (31 February) gives up after eight years.
            let limit = minute + 8 * 366 * 1_440
            while minute < limit {
                let day = minute / 1_440
                let (_, month, dayOfMonth) = CivilDate.civil(fromDays: Int(day))
                let weekday = Int((day + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
                let dayMatches: Bool
                switch (anyDay, anyWeekday) {
                case (true, true): dayMatches = true
                case (true, false): dayMatches = weekdays.contains(weekday)
                case (false, true): dayMatches = days.contains(dayOfMonth)
                case (false, false): dayMatches = days.contains(dayOfMonth) || weekdays.contains(weekday)
                }
                guard months.contains(month) && dayMatches else {
                    minute = (day + 1) * 1_440
                    continue
                }
                let hour = Int((minute % 1_440) / 60)
                guard hours.contains(hour) else {
                    minute = (minute / 60 + 1) * 60
                    continue
                }
                if minutes.contains(Int(minute % 60)) { return minute * 60 }
                minute += 1
            }
            return Int64.max
        }
    }

    /// The latest instant at or before `seconds` the schedule fired (for catching up after a
    /// pause: only the latest missed tick runs).
    public func latest(atOrBefore seconds: Int64, notBefore floor: Int64) -> Int64? {
        var tick = next(after: floor - 1)
        guard tick <= seconds else { return nil }
        while true {
            let following = next(after: tick)
            if following > seconds { return tick }
            tick = following
        }
    }
}
