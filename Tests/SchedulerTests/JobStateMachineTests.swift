import Scheduler
import Testing

@Suite struct JobStateMachineTests {
    /// Every legal transition; every other (state, event) pair must be refused.
    static let legal: [JobState?: [JobStateMachine.Event: JobState]] = [
        nil: [.enqueueNow: .available, .enqueueLater: .scheduled],
        .available: [.fetch: .running, .cancel: .cancelled],
        .scheduled: [.promote: .available, .cancel: .cancelled],
        .retryable: [.promote: .available, .cancel: .cancelled],
        .running: [.succeed: .completed, .failRetryable: .retryable, .rescueRetryable: .retryable, .failFinal: .dead, .rescueFinal: .dead,
                   .snooze: .scheduled, .release: .available, .cancel: .cancelled],
        .dead: [.replay: .available],
        .completed: [:],
        .cancelled: [:],
    ]

    @Test func everyStateAndEventPairIsDecided() {
        let states: [JobState?] = [nil] + JobState.allCases.map(Optional.some)
        var checked = 0
        for state in states {
            for event in JobStateMachine.Event.allCases {
                #expect(JobStateMachine.next(from: state, on: event) == Self.legal[state]?[event], "\(String(describing: state)) on \(event)")
                checked += 1
            }
        }
        #expect(checked == 8 * JobStateMachine.Event.allCases.count)
    }

    @Test func finalStatesOnlyLeaveByReplay() {
        for state in JobState.allCases where state.isFinal {
            let exits = JobStateMachine.Event.allCases.filter { JobStateMachine.next(from: state, on: $0) != nil }
            #expect(exits == (state == .dead ? [.replay] : []), "\(state)")
        }
        #expect(Set(JobState.allCases.filter(\.isFinal)) == [.completed, .cancelled, .dead])
    }

    @Test func everyEventNamesWhoSendsIt() {
        for event in JobStateMachine.Event.allCases { #expect(!JobStateMachine.actor(of: event).isEmpty) }
        #expect(JobStateMachine.actor(of: .rescueFinal).contains("rescuer"))
        #expect(JobStateMachine.actor(of: .fetch) == "worker")
    }
}

/// Pins the random draws: always the top of the range.
struct MaxGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { .max }
}

@Suite struct JobFailureTests {
    let backoff = JobBackoff.exponential(RetryPolicy(base: .seconds(1), cap: .seconds(60), maxAttempts: 3))

    func decide(_ kind: JobFailure.Kind, attempt: Int, max: Int = 3, backoff: JobBackoff? = nil) -> JobFailure.Decision {
        var generator = MaxGenerator()
        return JobFailure(kind, "x").decide(attempt: attempt, maxAttempts: max, backoff: backoff ?? self.backoff, nowMillis: 1_000, using: &generator)
    }

    @Test func retryableFailuresBackOffUntilTheLastAttempt() {
        #expect(decide(.retryable, attempt: 1) == .init(event: .failRetryable, runAtMillis: 2_000, attempt: 1))
        #expect(decide(.retryable, attempt: 2) == .init(event: .failRetryable, runAtMillis: 3_000, attempt: 2))
        #expect(decide(.retryable, attempt: 3) == .init(event: .failFinal, runAtMillis: nil, attempt: 3))
        // The job's own limit wins over the policy's (here the policy would allow 3).
        #expect(decide(.retryable, attempt: 5, max: 10).runAtMillis == 17_000)
        #expect(decide(.retryable, attempt: 9, max: 10).runAtMillis == 61_000)
    }

    @Test func permanentFailuresDieAtOnceAndSnoozesSpendNothing() {
        #expect(decide(.permanent, attempt: 1) == .init(event: .failFinal, runAtMillis: nil, attempt: 1))
        #expect(decide(.snooze(.seconds(30)), attempt: 3) == .init(event: .snooze, runAtMillis: 31_000, attempt: 2))
        #expect(decide(.snooze(.milliseconds(1)), attempt: 1).attempt == 0)
    }

    @Test func lapsedWorkersAreRescues() {
        #expect(decide(.lapsed, attempt: 1).event == .rescueRetryable)
        #expect(decide(.lapsed, attempt: 3).event == .rescueFinal)
        for kind: JobFailure.Kind in [.retryable, .permanent, .snooze(.seconds(1)), .lapsed] {
            for attempt in 1...3 {
                #expect(JobStateMachine.next(from: .running, on: decide(kind, attempt: attempt).event) != nil)
            }
        }
    }

    @Test func schedulesAreFollowedExactly() {
        let webhook = JobBackoff.schedule([.seconds(5), .seconds(300), .seconds(1_800)])
        var generator = SystemRandomNumberGenerator()
        #expect(webhook.wait(afterAttempt: 1, using: &generator) == .seconds(5))
        #expect(webhook.wait(afterAttempt: 3, using: &generator) == .seconds(1_800))
        #expect(webhook.wait(afterAttempt: 7, using: &generator) == .seconds(1_800))
        #expect(decide(.retryable, attempt: 2, max: 9, backoff: webhook).runAtMillis == 301_000)
        #expect(JobBackoff.schedule([]).wait(afterAttempt: 1, using: &generator) == .zero)
        // Full jitter stays inside its ceiling.
        for attempt in 1...20 {
            let wait = JobBackoff.standard.wait(afterAttempt: attempt, using: &generator)
            #expect(wait >= .zero && wait <= .seconds(600))
        }
    }
}
