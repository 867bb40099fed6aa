import Actors
import MetricsTestKit
import Scheduler
import Testing

@Suite struct BreakerRegistryTests {
    @Test func eachHostHasItsOwnBreakerAndItsStateIsExported() throws {
        let metrics = TestMetrics()
        let registry = BreakerRegistry(
            configuration: CircuitBreaker.Configuration(failurePercent: 50, minimumCalls: 2, windowMillis: 10_000, buckets: 2, openMillis: 1_000, trialCalls: 1),
            metrics: metrics
        )
        for _ in 0..<2 {
            #expect(registry.permit(host: "bad.example", nowMillis: 0) == .allowed)
            registry.record(host: "bad.example", success: false, nowMillis: 0)
        }
        #expect(registry.permit(host: "bad.example", nowMillis: 10) == .refused(retryAtMillis: 1_000))
        #expect(registry.permit(host: "good.example", nowMillis: 10) == .allowed)
        registry.record(host: "good.example", success: true, nowMillis: 10)
        #expect(registry.states["bad.example"] == .open(untilMillis: 1_000))
        #expect(registry.states["good.example"] == .closed)
        let bad = try metrics.expectGauge("tally_circuit_breaker_state", [("host", "bad.example")])
        #expect(bad.lastValue == 2)
        #expect(try metrics.expectGauge("tally_circuit_breaker_state", [("host", "good.example")]).lastValue == 0)

        // After the cool-down one trial goes through; its success closes the breaker.
        #expect(registry.permit(host: "bad.example", nowMillis: 1_000) == .allowed)
        #expect(bad.lastValue == 1)
        registry.record(host: "bad.example", success: true, nowMillis: 1_001)
        #expect(registry.states["bad.example"] == .closed && bad.lastValue == 0)
    }
}
