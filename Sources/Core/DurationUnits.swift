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
}
