import Core
import Testing

@Suite struct MoneyTests {
    let usd = Currency("usd")!
    let jpy = Currency("JPY")!
    let kwd = Currency("KWD")!

    @Test func currenciesKnowTheirMinorUnits() {
        #expect(usd.code == "USD" && usd.exponent == 2 && usd.minorPerMajor == 100)
        #expect(jpy.exponent == 0 && jpy.minorPerMajor == 1)
        #expect(kwd.exponent == 3 && Currency("CLF")?.exponent == 4)
        #expect(Currency("XYZ") == nil && Currency("") == nil && Currency("US") == nil)
    }

    @Test func decimalsParseExactlyOrNotAtAll() {
        #expect(Money(decimal: "12.34", currency: usd)?.minorUnits == 1_234)
        #expect(Money(decimal: "12.3", currency: usd)?.minorUnits == 1_230)
        #expect(Money(decimal: "12", currency: usd)?.minorUnits == 1_200)
        #expect(Money(decimal: "-0.05", currency: usd)?.minorUnits == -5)
        #expect(Money(decimal: "1500", currency: jpy)?.minorUnits == 1_500)
        #expect(Money(decimal: "1.234", currency: kwd)?.minorUnits == 1_234)
        for bad in ["12.345", "1.5e3", "", ".5", "5.", "--1", "1,00", "0x10", " 1"] {
            #expect(Money(decimal: bad, currency: usd) == nil, "\(bad)")
        }
        #expect(Money(decimal: "1.5", currency: jpy) == nil)
        #expect(Money(minorUnits: -123_456, currency: usd).description == "-1234.56 USD")
        #expect(Money(minorUnits: 5, currency: kwd).decimalString == "0.005")
        #expect(Money(minorUnits: 7, currency: jpy).decimalString == "7")
    }

    @Test func exactAmountsRoundHalfAwayFromZero() {
        let cent: Int128 = 10_000_000_000_000_000  // 10^16 atto = one cent
        #expect(Money(attoUnits: cent * 3 + cent / 2, currency: usd).minorUnits == 4)
        #expect(Money(attoUnits: cent * 3 + cent / 2 - 1, currency: usd).minorUnits == 3)
        #expect(Money(attoUnits: -(cent * 3 + cent / 2), currency: usd).minorUnits == -4)
        #expect(Money(attoUnits: 0, currency: usd).minorUnits == 0)
        #expect(Money(attoUnits: 1_500_000_000_000_000_000, currency: jpy).minorUnits == 2)  // 1.5 yen
    }

    @Test func sumsStayInOneCurrency() {
        let a = Money(minorUnits: 150, currency: usd)
        #expect(a.adding(Money(minorUnits: 50, currency: usd)) == Money(minorUnits: 200, currency: usd))
        #expect(a.adding(Money(minorUnits: 50, currency: jpy)) == nil)
        #expect(a.adding(Money(minorUnits: .max, currency: usd)) == nil)
        #expect(Money.sum([a, a, a.negated], currency: usd) == a)
    }
}
