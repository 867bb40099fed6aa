import Billing
import Core
import Foundation
import Metering
import Testing

@Suite struct BillingPeriodTests {
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    let usd = Currency("USD")!

    @Test func aPeriodAcrossTheAutumnClockChangeIsAnHourLonger() {
        // Started 2026-10-10 00:00 in Berlin (22:00 UTC the day before, summer time); clocks go back on 25 October.
        let anchor: Int64 = 1_791_583_200
        let period = BillingPeriod.window(interval: .month, anchor: anchor, zone: berlin, at: anchor + 86_400)
        #expect(period.start == anchor)
        // 2026-11-10 00:00 in Berlin is 23:00 UTC (winter time): 31 days and one hour later.
        #expect(period.end == anchor + 31 * 86_400 + 3_600)
        // Prorating half of that period's seconds gives exactly half the fee.
        let length = period.end - period.start
        #expect(Proration.share(of: Money(minorUnits: 3_100, currency: usd), seconds: length / 2, periodSeconds: length).minorUnits == 1_550)
        // A day's share over the longer period: 1/31.0417 of $31.00 = 0.9987 → 1.00.
        #expect(Proration.share(of: Money(minorUnits: 3_100, currency: usd), seconds: 86_400, periodSeconds: length).minorUnits == 100)
        // The next period (into December) has no clock change: 30 days.
        let next = BillingPeriod.window(interval: .month, anchor: anchor, zone: berlin, at: period.end)
        #expect(next.start == period.end && next.end == period.end + 30 * 86_400)
    }

    @Test func periodsClampToShortMonthsAndYearsCount12Months() {
        // Anchored on 31 January 2028 00:00 UTC: February's period ends on the 29th (a leap year), March's on the 31st.
        let utc = TimeZone(identifier: "UTC")!
        let anchor: Int64 = 1_832_889_600  // 2028-01-31
        let february = BillingPeriod.window(interval: .month, anchor: anchor, zone: utc, at: anchor + 31 * 86_400)
        #expect(february.start == 1_835_395_200)  // 2028-02-29
        #expect(february.end == 1_838_073_600)  // 2028-03-31
        let yearly = BillingPeriod.window(interval: .year, anchor: anchor, zone: utc, at: anchor + 10)
        #expect(yearly.end == 1_864_512_000)  // 2029-01-31
    }
}
