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
}
