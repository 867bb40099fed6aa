import Core
import Metering
import Testing

@Suite struct ChargeModelTests {
    let usd = Currency("USD")!
    func q(_ text: String) -> Quantity { Quantity(text)! }
    func cents(_ model: ChargeModel, _ quantity: String, free: String = "0") -> Int64 {
        Money(attoUnits: model.rate(quantity: q(quantity), freeUnits: q(free)), currency: usd).minorUnits
    }

    // 0-1000 at $0.10, 1001-5000 at $0.05 (+ $2 tier fee), beyond at $0.01.
    var tiers: [ChargeModel.Tier] {
        [.init(upTo: q("1000"), unitPrice: q("0.10")), .init(upTo: q("5000"), unitPrice: q("0.05"), flatFee: q("2")), .init(upTo: nil, unitPrice: q("0.01"))]
    }

    @Test func flatPerUnitAndPackage() {
        #expect(cents(.flat(q("49")), "0") == 4_900)
        #expect(cents(.flat(q("49")), "1000000") == 4_900)
        #expect(cents(.perUnit(q("0.0004")), "12345") == 494)  // 4.938 → 4.94
        #expect(cents(.perUnit(q("0.0004")), "12345", free: "10000") == 94)  // 2,345 billable
        #expect(cents(.perUnit(q("0.0004")), "500", free: "1000") == 0)
        #expect(cents(.package(size: q("1000"), price: q("2.50")), "0") == 0)
        #expect(cents(.package(size: q("1000"), price: q("2.50")), "1") == 250)
        #expect(cents(.package(size: q("1000"), price: q("2.50")), "1000") == 250)
        #expect(cents(.package(size: q("1000"), price: q("2.50")), "1001") == 500)
        #expect(cents(.package(size: q("1000"), price: q("2.50")), "0.5") == 250)
    }

    @Test func graduatedTiersPriceTheUnitsInThem() {
        let model = ChargeModel.graduated(tiers)
        #expect(cents(model, "0") == 0)
        #expect(cents(model, "1") == 10)
        #expect(cents(model, "1000") == 10_000)  // the boundary belongs to the first tier
        #expect(cents(model, "1001") == 10_000 + 200 + 5)  // the second tier starts: its fee and one unit
        #expect(cents(model, "5000") == 10_000 + 200 + 20_000)
        #expect(cents(model, "5001") == 30_200 + 1)
        #expect(cents(model, "10000") == 30_200 + 5_000)
        #expect(cents(model, "1500", free: "1000") == 5_000)  // free units come off the bottom
    }

    @Test func volumeTiersPriceEveryUnitByWhereTheTotalLands() {
        let model = ChargeModel.volume(tiers)
        #expect(cents(model, "0") == 0)
        #expect(cents(model, "1000") == 10_000)
        #expect(cents(model, "1001") == 200 + 5_005)
        #expect(cents(model, "5000") == 200 + 25_000)
        #expect(cents(model, "5001") == 5_001)
    }

    @Test func percentagesClampPerEvent() {
        // 2.9 % with a 30 cent minimum and a $10 maximum per event.
        let model = ChargeModel.percentage(percent: q("2.9"), minimum: q("0.30"), maximum: q("10"))
        let fee = { (values: [String]) in Money(attoUnits: model.rate(values: values.map(self.q)), currency: self.usd).minorUnits }
        #expect(fee(["100"]) == 290)
        #expect(fee(["5"]) == 30)  // 14.5 cents → the minimum
        #expect(fee(["1000"]) == 1_000)  // $29 → the maximum
        #expect(fee(["100", "5", "1000"]) == 290 + 30 + 1_000)
        #expect(fee([]) == 0)
        #expect(fee(["12.34"]) == 36)  // 35.786 cents → 36
    }

    @Test func moreUsageNeverCostsLessUnderGraduatedPricing() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bounds = (0..<3).map { _ in Int.random(in: 1...10_000, using: &generator) }.sorted()
            guard Set(bounds).count == 3 else { continue }
            let prices = (0..<4).map { _ in Quantity(billionths: Int128(Int.random(in: 0...1_000_000_000, using: &generator))) }
            let model = ChargeModel.graduated([
                .init(upTo: Quantity(bounds[0]), unitPrice: prices[0]), .init(upTo: Quantity(bounds[1]), unitPrice: prices[1], flatFee: q("1")),
                .init(upTo: Quantity(bounds[2]), unitPrice: prices[2]), .init(upTo: nil, unitPrice: prices[3]),
            ])
            var previous: Int128 = -1
            for units in stride(from: 0, through: 12_000, by: Int.random(in: 1...997, using: &generator)) {
                let amount = model.rate(quantity: Quantity(units))
                #expect(amount >= previous, "\(units) units cost less than fewer did")
                previous = amount
            }
        }
    }

    @Test func badModelsNameTheirField() {
        func field(_ model: ChargeModel) -> String? {
            do { try model.validate(field: "charge"); return nil } catch let error as TallyError { return error.field } catch { return "?" }
        }
        #expect(field(.graduated(tiers)) == nil)
        #expect(field(.perUnit(q("-1"))) == "charge.unit_price")
        #expect(field(.package(size: .zero, price: q("1"))) == "charge.package_size")
        #expect(field(.graduated([])) == "charge.tiers")
        #expect(field(.volume([.init(upTo: q("10"), unitPrice: q("1"))])) == "charge.tiers")
        #expect(field(.graduated([.init(upTo: q("10"), unitPrice: q("1")), .init(upTo: q("5"), unitPrice: q("1")), .init(upTo: nil, unitPrice: q("1"))]))
                == "charge.tiers[1].up_to")
        #expect(field(.percentage(percent: q("101"), minimum: nil, maximum: nil)) == "charge.percent")
        #expect(field(.percentage(percent: q("1"), minimum: q("5"), maximum: q("1"))) == "charge.maximum")
    }
}

@Suite struct ProrationTests {
    let usd = Currency("USD")!

    @Test func sharesAreBySecondAndRoundHalfAwayFromZero() {
        let fee = Money(minorUnits: 3_000, currency: usd)  // $30 a 30-day month
        let month: Int64 = 30 * 86_400
        #expect(Proration.share(of: fee, seconds: month, periodSeconds: month) == fee)
        #expect(Proration.share(of: fee, seconds: 0, periodSeconds: month).minorUnits == 0)
        #expect(Proration.share(of: fee, seconds: 15 * 86_400, periodSeconds: month).minorUnits == 1_500)
        #expect(Proration.share(of: fee, seconds: 86_400, periodSeconds: month).minorUnits == 100)
        #expect(Proration.share(of: Money(minorUnits: 1_000, currency: usd), seconds: 1, periodSeconds: 3).minorUnits == 333)
        #expect(Proration.share(of: Money(minorUnits: 1_000, currency: usd), seconds: 2, periodSeconds: 3).minorUnits == 667)
        #expect(Proration.share(of: Money(minorUnits: 1, currency: usd), seconds: 1, periodSeconds: 2).minorUnits == 1)  // half → away from zero
        #expect(Proration.share(of: Money(minorUnits: -1, currency: usd), seconds: 1, periodSeconds: 2).minorUnits == -1)
        #expect(Proration.share(of: fee, seconds: month * 2, periodSeconds: month) == fee)  // never more than the whole
    }

    @Test func aMidPeriodChangeCreditsTheOldAndChargesTheNew() {
        // February 2028 (a leap year: 29 days); the change on the 20th at 00:00 UTC leaves 10 days.
        let start: Int64 = 1_832_976_000  // 2028-02-01
        let end: Int64 = start + 29 * 86_400
        let change = start + 19 * 86_400
        let (credit, charge) = Proration.change(from: Money(minorUnits: 2_900, currency: usd), to: Money(minorUnits: 5_800, currency: usd),
                                                 periodStart: start, periodEnd: end, changeAt: change)
        #expect(credit.minorUnits == -1_000 && charge.minorUnits == 2_000)
        // Changing at the very end credits and charges nothing; at the start, everything.
        #expect(Proration.change(from: Money(minorUnits: 2_900, currency: usd), to: Money(minorUnits: 5_800, currency: usd),
                                 periodStart: start, periodEnd: end, changeAt: end) == (Money.zero(usd), Money.zero(usd)))
        let whole = Proration.change(from: Money(minorUnits: 2_900, currency: usd), to: Money(minorUnits: 5_800, currency: usd),
                                     periodStart: start, periodEnd: end, changeAt: start)
        #expect(whole.credit.minorUnits == -2_900 && whole.charge.minorUnits == 5_800)
    }
}
