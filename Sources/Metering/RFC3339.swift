import Core
/// Parses RFC 3339 timestamps (`2026-11-28T10:15:30.123456Z`, `...+02:00`) into microseconds
/// since the Unix epoch, exactly: no calendar library, no floating point, so an event's window
/// never depends on rounding.
public enum RFC3339 {
    /// Microseconds since 1970-01-01T00:00:00Z, or `nil` when `text` is not RFC 3339.
    /// Fractions finer than a microsecond are truncated; leap seconds (`:60`) are refused.
    public static func microseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < b.count, b[index] >= 48, b[index] <= 57 else { return nil }
                value = value * 10 + Int(b[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), b[4] == UInt8(ascii: "-"), let month = number(5..<7), b[7] == UInt8(ascii: "-"),
              let day = number(8..<10), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = number(11..<13), b[13] == UInt8(ascii: ":"), let minute = number(14..<16), b[16] == UInt8(ascii: ":"),
              let second = number(17..<19) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year), hour < 24, minute < 60, second < 60 else { return nil }
        var index = 19
        var micros = 0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(b[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        guard index < b.count else { return nil }
        var offsetSeconds = 0
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = number((index + 1)..<(index + 3)), index + 3 < b.count, b[index + 3] == UInt8(ascii: ":"),
                  let om = number((index + 4)..<(index + 6)), oh < 24, om < 60 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == b.count else { return nil }
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// An instant in milliseconds as the API shows it (`null` for none).
    public static func json(millis: Int64?) -> JSONValue {
        millis.map { .string(format(microseconds: $0 * 1_000)) } ?? .null
    }

    /// An instant in Unix seconds as the API shows it (`null` for none).
    public static func json(seconds: Int64?) -> JSONValue {
        seconds.map { .string(format(microseconds: $0 * 1_000_000)) } ?? .null
    }

    /// Unix seconds (rounded down) of an RFC 3339 time, or `nil` when `text` is not one.
    public static func seconds(_ text: String) -> Int64? {
        microseconds(text).map { $0 >= 0 ? $0 / 1_000_000 : ($0 - 999_999) / 1_000_000 }
    }

    /// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    public static func format(microseconds: Int64) -> String {
        format(microseconds: microseconds, offsetSeconds: 0)
    }

    /// The instant as local time at `offsetSeconds` from UTC, with that offset (`+05:30`), or
    /// `Z` for zero.
    public static func format(microseconds utc: Int64, offsetSeconds: Int32) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        append(microseconds: utc, offsetSeconds: offsetSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends what `format(microseconds:offsetSeconds:)` answers to `bytes`, without a String
    /// of its own (a check's answer writes three times straight into its JSON).
    public static func append(microseconds utc: Int64, offsetSeconds: Int32 = 0, to bytes: inout [UInt8]) {
        let microseconds = utc + Int64(offsetSeconds) * 1_000_000
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = Int(microseconds - seconds * 1_000_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilDate.civil(fromDays: Int(days))
        func digits(_ value: Int, _ width: Int) { bytes.appendDigits(value, width: width) }
        if year < 0 {
            bytes.append(UInt8(ascii: "-"))
            digits(-year, 4)
        } else {
            digits(year, 4)
        }
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if micros != 0 {
            bytes.append(UInt8(ascii: "."))
            digits(micros, 6)
        }
        if offsetSeconds == 0 {
            bytes.append(UInt8(ascii: "Z"))
        } else {
            let minutes = Int(abs(offsetSeconds)) / 60
            bytes.append(offsetSeconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            digits(minutes / 60, 2)
            bytes.append(UInt8(ascii: ":"))
            digits(minutes % 60, 2)
        }
    }
}
