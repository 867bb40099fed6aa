extension Array where Element == UInt8 {
    /// Appends `value` (not negative) in decimal, zero-padded to `width` digits; a value wider
    /// than `width` (a year past 9999) is written whole. For times and durations formatted byte
    /// by byte on hot paths (log lines, API answers).
    public mutating func appendDigits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        if rest >= divisor * 10 {
            append(contentsOf: String(rest).utf8)
            return
        }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Appends `value` (not negative) in decimal, as wide as it needs.
    public mutating func appendDecimal(_ value: Int) {
        let start = count
        var rest = value
        repeat {
            append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        self[start...].reverse()
    }
}
