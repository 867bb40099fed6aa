import Core
import Testing

@Suite struct DecimalDigitsTests {
    @Test(arguments: [(0, 1, "0"), (7, 3, "007"), (42, 2, "42"), (2026, 4, "2026"), (12345, 4, "12345"), (999_999, 6, "999999"), (5, 6, "000005"), (1_000_000_000_000_000_000, 19, "1000000000000000000")])
    func digitsArePaddedToTheWidthAndWiderValuesWrittenWhole(value: Int, width: Int, expected: String) {
        var bytes: [UInt8] = [UInt8(ascii: "x")]
        bytes.appendDigits(value, width: width)
        #expect(String(decoding: bytes, as: UTF8.self) == "x" + expected)
    }

    @Test(arguments: [0, 7, 10, 42, 1_000_000, 9_223_372_036_854_775_807, -1, -42, -9_223_372_036_854_775_808])
    func decimalsAreAsWideAsTheyNeed(value: Int) {
        var bytes: [UInt8] = [UInt8(ascii: "x")]
        bytes.appendDecimal(value)
        #expect(String(decoding: bytes, as: UTF8.self) == "x" + String(value))
    }

    /// Into a buffer at a position: the same text, the position moved past it, nothing written
    /// outside the room `decimalWidth` gives.
    @Test(arguments: [(0, 1), (7, 3), (-42, 1), (-5, 4), (Int.max, 1), (Int.min, 1), (123, 2)])
    func decimalsWriteIntoABufferAtAPosition(value: Int, width: Int) {
        var bytes = [UInt8](repeating: UInt8(ascii: "."), count: 40)
        var position = 3
        let room = UnsafeMutableBufferPointer<UInt8>.decimalWidth(value, minimumWidth: width)
        bytes.withUnsafeMutableBufferPointer { $0.writeDecimal(value, minimumWidth: width, at: &position) }
        #expect(position == 3 + room)
        let text = String(decoding: bytes, as: UTF8.self)
        let digits = String(value.magnitude)
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        #expect(text == "..." + (value < 0 ? "-" : "") + padded + String(repeating: ".", count: 40 - 3 - room))
    }
}
