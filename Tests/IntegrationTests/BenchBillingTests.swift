import Bench
import Storage
import TallyTestSupport
import Testing

/// `tally bench billing`'s engine on a real backend, small: every subscription is invoiced and
/// every invoice agrees with the plain aggregate of its events.
@Suite struct BenchBillingTests {
    @Test(arguments: TestBackend.available)
    func aSmallRunWhoseLastLoaderHasNoSubscriptionsBillsThemAll(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            var configuration = BillingBenchmark.Configuration()
            // 4 loaders take slices of 2: the fourth slice would start past the fifth subscription.
            configuration.subscriptions = 5
            configuration.events = 500
            configuration.eventsPerMinute = 10
            configuration.batch = 50
            configuration.aggregateRepeats = 1
            let report = try await BillingBenchmark(configuration, logger: TestBackend.logger).run(storage: storage, backendName: backend.rawValue)
            #expect(report.subscriptions == 5 && report.invoices == 5)
            #expect(report.events == 500)
            #expect(report.failures == 0 && report.mismatches == 0)
            #expect(report.verified)
        }
    }
}
