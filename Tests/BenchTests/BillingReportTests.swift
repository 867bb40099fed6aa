@testable import Bench
import Testing

/// The billing benchmark's figure: the run's time over the median of the plain aggregate's runs.
@Suite struct BillingReportTests {
    static func report(aggregates: [Double], billing: Double) -> BillingBenchmark.Report {
        BillingBenchmark.Report(
            backend: "sqlite", subscriptions: 2, periods: 1, events: 10, eventsPerMinute: 1, rollupRows: 2, loadSeconds: 1,
            aggregateSeconds: aggregates, billingSeconds: billing, invoices: 2, failures: 0, mismatches: 0
        )
    }

    @Test(arguments: [
        ([3.0, 1.0, 2.0], 2.0),
        ([4.0, 1.0, 3.0, 2.0], 2.5),  // an even count takes the mean of the middle two, not the upper one
        ([5.0], 5.0),
        ([], 0.0),
    ])
    func theAggregateMedianIsTheMiddle(aggregates: [Double], expected: Double) {
        let report = Self.report(aggregates: aggregates, billing: 5)
        #expect(report.aggregateMedian == expected)
        #expect(report.ratio == (expected > 0 ? 5 / expected : 0))
    }
}
