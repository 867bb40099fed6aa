import HTTPFront
import Testing

/// The pause after a 429, per connection: first short, doubling with each refusal in a row,
/// never past the Retry-After sent nor the ceiling; any other answer starts over.
@Suite struct RefusalPauseTests {
    @Test func doublesWithEachRefusalInARowUpToRetryAfter() {
        var pause = RefusalPause(first: .milliseconds(10))
        let pauses = (0..<9).map { _ in pause.answered(status: 429, retryAfterSeconds: 1) }
        #expect(pauses == [10, 20, 40, 80, 160, 320, 640, 1_000, 1_000].map { Duration.milliseconds($0) })
        #expect(pause.consecutive == 9)
    }

    @Test func anyOtherAnswerStartsTheCountAgain() {
        var pause = RefusalPause(first: .milliseconds(10))
        #expect(pause.answered(status: 429, retryAfterSeconds: 1) == .milliseconds(10))
        #expect(pause.answered(status: 429, retryAfterSeconds: 1) == .milliseconds(20))
        for status in [200, 201, 401, 422, 503] {
            var copy = pause
            #expect(copy.answered(status: status, retryAfterSeconds: 1) == nil, "\(status) is not a refusal to pause after")
            #expect(copy.consecutive == 0)
            #expect(copy.answered(status: 429, retryAfterSeconds: 1) == .milliseconds(10))
        }
    }

    @Test func neverLongerThanTheCeilingNorWhatWasSaid() {
        var long = RefusalPause(first: .seconds(1), ceiling: .seconds(10))
        let pauses = (0..<6).map { _ in long.answered(status: 429, retryAfterSeconds: 60) }
        #expect(pauses == [1, 2, 4, 8, 10, 10].map { Duration.seconds($0) })
        // No Retry-After (or a nonsense one) counts as one second.
        var unsaid = RefusalPause(first: .milliseconds(600))
        #expect(unsaid.answered(status: 429, retryAfterSeconds: nil) == .milliseconds(600))
        #expect(unsaid.answered(status: 429, retryAfterSeconds: 0) == .seconds(1))
        // Thousands of refusals in a row do not overflow.
        var endless = RefusalPause(first: .milliseconds(10))
        for _ in 0..<5_000 { _ = endless.answered(status: 429, retryAfterSeconds: 1) }
        #expect(endless.answered(status: 429, retryAfterSeconds: 1) == .seconds(1))
    }

    @Test func zeroTurnsItOff() {
        var off = RefusalPause(first: .zero)
        for _ in 0..<3 { #expect(off.answered(status: 429, retryAfterSeconds: 1) == nil) }
        #expect(off.consecutive == 0)
    }
}
