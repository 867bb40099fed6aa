extension Array where Element == UInt8 {
    /// Appends `value` (not negative) in decimal, zero-padded to `width` digits; a value wider
    /// than `width` (a year past 9999) is written whole. For times and durations formatted byte
    /// by byte on hot paths (log lines, API answers).
    public mutating func appendDigits(_ value: Int, width: Int) {
        let start = count
        appendDecimal(value)
        let written = count - start
        if written < width { insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - written), at: start) }
    }

    /// Appends `value` in decimal, as wide as it needs (with a `-` when negative).
    public mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        let start = count
        var rest = value.magnitude
        repeat {
            append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        self[start...].reverse()
    }
}
