import Scheduler
import Testing

@Suite struct CircuitBreakerTests {
    let configuration = CircuitBreaker.Configuration(failurePercent: 50, minimumCalls: 4, windowMillis: 10_000, buckets: 5, openMillis: 5_000, trialCalls: 2)

    func run(_ breaker: inout CircuitBreaker, _ outcomes: [Bool], at now: Int64) {
        for success in outcomes {
            #expect(breaker.permit(nowMillis: now) == .allowed)
            breaker.record(success: success, nowMillis: now)
        }
    }

    @Test func opensOnceTheFailureRateAndVolumeAreReached() {
        var breaker = CircuitBreaker(configuration)
        run(&breaker, [false, false, false], at: 0)
        #expect(breaker.state == .closed)  // 3 calls: under the minimum
        run(&breaker, [true], at: 100)
        #expect(breaker.state == .open(untilMillis: 5_100))  // 3 of 4 failed
        #expect(breaker.permit(nowMillis: 5_099) == .refused(retryAtMillis: 5_100))
    }

    @Test func staysClosedUnderTheRate() {
        var breaker = CircuitBreaker(configuration)
        run(&breaker, [true, true, false, true, true, false, true], at: 0)
        #expect(breaker.state == .closed)
        #expect(breaker.totals(now: 0) == (7, 2))
    }

    @Test func oldFailuresLeaveTheWindow() {
        var breaker = CircuitBreaker(configuration)
        run(&breaker, [false, false, false], at: 0)
        #expect(breaker.totals(now: 9_999) == (3, 3))
        #expect(breaker.totals(now: 10_000) == (0, 0))
        // Ten seconds on, those failures are out of the window: one more failure does not trip.
        run(&breaker, [false], at: 10_000)
        #expect(breaker.state == .closed)
        #expect(breaker.totals(now: 10_000) == (1, 1))
    }

    @Test func halfOpenClosesAfterTrialsSucceed() {
        var breaker = CircuitBreaker(configuration)
        run(&breaker, [false, false, false, false], at: 0)
        #expect(breaker.state == .open(untilMillis: 5_000))
        #expect(breaker.permit(nowMillis: 5_000) == .allowed)
        #expect(breaker.permit(nowMillis: 5_001) == .allowed)
        #expect(breaker.state == .halfOpen(started: 2, succeeded: 0))
        // Both trials are out: others wait.
        #expect(breaker.permit(nowMillis: 5_002) == .refused(retryAtMillis: 6_002))
        breaker.record(success: true, nowMillis: 5_010)
        #expect(breaker.state == .halfOpen(started: 2, succeeded: 1))
        breaker.record(success: true, nowMillis: 5_020)
        #expect(breaker.state == .closed)
        #expect(breaker.totals(now: 5_020) == (0, 0))
    }

    @Test func aFailedTrialOpensAgain() {
        var breaker = CircuitBreaker(configuration)
        run(&breaker, [false, false, false, false], at: 0)
        #expect(breaker.permit(nowMillis: 6_000) == .allowed)
        breaker.record(success: false, nowMillis: 6_100)
        #expect(breaker.state == .open(untilMillis: 11_100))
        #expect(breaker.state.name == "open")
        // A late outcome of a call allowed before the trip changes nothing.
        breaker.record(success: true, nowMillis: 6_200)
        #expect(breaker.state == .open(untilMillis: 11_100))
    }
}
