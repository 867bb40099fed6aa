import Metering
import Testing

@Suite struct QuantityTests {
    @Test func wholeNumbersAndSixtyFourBitBoundariesFormatExactly() throws {
        // The fast paths (whole JSON numbers, 64-bit formatting) agree with the text paths.
        for whole in [0, 1, -1, 42, 999_999_999_999_999, -999_999_999_999_999, 123_456_789_012] {
            #expect(Quantity(exactly: Double(whole)) == Quantity(String(whole)))
            #expect(Quantity(exactly: Double(whole))?.description == String(whole))
        }
        #expect(Quantity(exactly: 1e15)?.description == "1000000000000000")  // past the fast path: by text
        let largest64 = Quantity(billionths: Int128(UInt64.max))
        #expect(largest64.description == "18446744073.709551615")
        #expect(Quantity(billionths: Int128(UInt64.max) + 1).description == "18446744073.709551616")
        #expect(Quantity(billionths: -Int128(UInt64.max) - 1).description == "-18446744073.709551616")
        #expect(Quantity(billionths: Int128.max).description == "170141183460469231731687303715.884105727")
        #expect(Quantity(largest64.description) == largest64)
    }

    @Test(arguments: [
        ("0", "0"), ("12", "12"), ("-0.5", "-0.5"), ("3.000000001", "3.000000001"), ("1e3", "1000"), ("2.5E-3", "0.0025"),
        ("+7", "7"), ("0.100", "0.1"), ("999999999999999999", "999999999999999999"), ("1.5e-9", nil), ("0.0000000001", nil),
        ("1e18", nil), ("", nil), ("-", nil), ("1.2.3", nil), ("12a", nil), ("0x10", nil), ("1e", nil), (".5", "0.5"),
    ] as [(String, String?)])
    func parsesExactDecimalsOnly(text: String, expected: String?) {
        #expect(Quantity(text)?.description == expected)
    }

    @Test func doublesAreAcceptedOnlyWhenExact() {
        #expect(Quantity(exactly: 0.1)?.description == "0.1")
        #expect(Quantity(exactly: 1234.5678)?.description == "1234.5678")
        #expect(Quantity(exactly: 42)?.description == "42")
        #expect(Quantity(exactly: -3e-9)?.description == "-0.000000003")
        #expect(Quantity(exactly: 9_007_199_254_740_992) == nil)  // 2^53 (what 2^53 + 1 becomes as a Double): 16 digits
        #expect(Quantity(exactly: 0.1 + 0.2) == nil)  // 0.30000000000000004: 17 significant digits
        #expect(Quantity(exactly: .infinity) == nil)
        #expect(Quantity(exactly: .nan) == nil)
        #expect(Quantity(exactly: 1e-10) == nil)
    }

    @Test func sumsAreExact() {
        var total = Quantity.zero
        for _ in 0..<10 { total += Quantity("0.1")! }
        #expect(total == Quantity.one)
        #expect(total.description == "1")
        #expect((Quantity(5) - Quantity("0.25")!).description == "4.75")
        #expect((-Quantity(3)).description == "-3")
    }

    @Test func checkedAdditionReportsOverflow() {
        let huge = Quantity(billionths: .max - 1)
        #expect(huge.adding(Quantity(billionths: 1)) != nil)
        #expect(huge.adding(Quantity(billionths: 2)) == nil)
    }

    @Test func ordering() {
        #expect(Quantity("-1")! < Quantity.zero)
        #expect(Quantity("0.000000001")! < Quantity("0.00000001")!)
    }
}

@Suite struct QuantityArithmeticTests {
    @Test func subtractionAndPercentages() {
        #expect(Quantity(5).subtracting(Quantity("0.5")!) == Quantity("4.5")!)
        #expect(Quantity(billionths: .min).subtracting(Quantity(1)) == nil)
        #expect(Quantity(10).multiplied(byPercent: 80) == Quantity(8))
        #expect(Quantity("0.000000001")!.multiplied(byPercent: 50) == Quantity("0.000000001")!)  // rounded up
        #expect(Quantity(billionths: .max).multiplied(byPercent: 200) == nil)
    }
}
