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

    /// Room is appended for the digits, which are written in place, last first: no temporary
    /// and no reversal (reversing `self[start...]` copies the array's buffer for the slice).
    private mutating func appendDecimal(_ value: Int, minimumWidth: Int) {
        var position = count
        let room = UnsafeMutableBufferPointer.decimalWidth(value, minimumWidth: minimumWidth)
        append(contentsOf: repeatElement(UInt8(ascii: "0"), count: room))
        withUnsafeMutableBufferPointer { $0.writeDecimal(value, room: room, at: &position) }
    }
}

extension UnsafeMutableBufferPointer where Element == UInt8 {
    /// Bytes `writeDecimal` takes for `value`: its digits, at least `minimumWidth`, and a sign.
    public static func decimalWidth(_ value: Int, minimumWidth: Int = 1) -> Int {
        var digits = 1
        var probe = value.magnitude
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        return Swift.max(digits, minimumWidth) + (value < 0 ? 1 : 0)
    }

    /// Writes `value` in decimal at `position` (a `-` when negative, the digits zero-padded to
    /// `minimumWidth`) and moves `position` past it. The caller leaves room for
    /// `decimalWidth(value, minimumWidth:)` bytes: at most 21 for the default width.
    public func writeDecimal(_ value: Int, minimumWidth: Int = 1, at position: inout Int) {
        writeDecimal(value, room: Self.decimalWidth(value, minimumWidth: minimumWidth), at: &position)
    }

    /// `writeDecimal` into `room` bytes, as `decimalWidth` counted them (counted once).
    func writeDecimal(_ value: Int, room: Int, at position: inout Int) {
        let end = position + room
        if value < 0 {
            self[position] = UInt8(ascii: "-")
            position += 1
        }
        var rest = value.magnitude
        var index = end - 1
        while index >= position {
            self[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
        position = end
    }
}
