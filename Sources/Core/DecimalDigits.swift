extension Array where Element == UInt8 {
    /// Appends `value` (not negative) in decimal, zero-padded to `width` digits; a value wider
    /// than `width` (a year past 9999) is written whole. For times and durations formatted byte
    /// by byte on hot paths (log lines, API answers).
    public mutating func appendDigits(_ value: Int, width: Int) {
        appendDecimal(value, minimumWidth: width)
    }

    /// Appends `value` in decimal, as wide as it needs (with a `-` when negative).
    public mutating func appendDecimal(_ value: Int) {
        appendDecimal(value, minimumWidth: 1)
    }

    /// The digits are written in place, last first, into room appended for them: no temporary
    /// and no reversal (reversing `self[start...]` copies the array's buffer for the slice).
    private mutating func appendDecimal(_ value: Int, minimumWidth: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        var digits = 1
        var probe = rest
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        let width = Swift.max(digits, minimumWidth)
        append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var index = count - 1
        repeat {
            self[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
}
