/// `Duration` in the units storage, HTTP and benchmarks speak, in one place.
extension Duration {
    /// The duration in seconds, with its fraction.
    public var totalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Whole milliseconds, truncated toward zero.
    public var totalMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, truncated toward zero.
    public var totalMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }

    /// Whole nanoseconds, truncated toward zero.
    public var totalNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// For people: the largest whole unit that states it exactly (`35 days`, `5 minutes`,
    /// `90 seconds`, `1 hour`); under a second or with a fraction, seconds with the fraction
    /// (`0.25 seconds`).
    public var readable: String {
        let (seconds, attoseconds) = components
        guard attoseconds == 0 else { return "\(totalSeconds) seconds" }
        guard seconds != 0 else { return "0 seconds" }
        let (size, unit) = [(Int64(86_400), "day"), (3_600, "hour"), (60, "minute")].first { seconds % $0.0 == 0 } ?? (1, "second")
        let count = seconds / size
        return "\(count) \(unit)\(count == 1 || count == -1 ? "" : "s")"
    }
}
