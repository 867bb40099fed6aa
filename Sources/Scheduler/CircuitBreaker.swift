/// A circuit breaker over a failure-rate window: closed (calls pass, outcomes counted in
/// time buckets), open (calls refused until a cool-down passes), half-open (a few trial
/// calls; all succeeding closes it, any failing opens it again).
///
/// Pure: the caller passes the time in milliseconds; `BreakerRegistry` runs one per host.
public struct CircuitBreaker: Sendable, Equatable {
    /// Thresholds and timings.
    public struct Configuration: Sendable, Equatable {
        /// Opens when at least this percentage of the window's calls failed...
        public var failurePercent: Int
        /// ...and the window holds at least this many calls.
        public var minimumCalls: Int
        /// How far back the failure rate looks.
        public var windowMillis: Int64
        /// How many buckets the window is counted in (its resolution).
        public var buckets: Int
        /// How long an open breaker refuses calls before it lets trial calls through.
        public var openMillis: Int64
        /// Trial calls in half-open; this many successes in a row close the breaker.
        public var trialCalls: Int

        public init(failurePercent: Int = 50, minimumCalls: Int = 10, windowMillis: Int64 = 60_000, buckets: Int = 6,
                    openMillis: Int64 = 30_000, trialCalls: Int = 3) {
            precondition((1...100).contains(failurePercent) && minimumCalls >= 1 && windowMillis > 0 && buckets >= 1 && openMillis > 0 && trialCalls >= 1)
            self.failurePercent = failurePercent
            self.minimumCalls = minimumCalls
            self.windowMillis = windowMillis
            self.buckets = buckets
            self.openMillis = openMillis
            self.trialCalls = trialCalls
        }
    }

    /// The breaker's position.
    public enum State: Sendable, Equatable {
        case closed
        /// Refusing calls until this instant (milliseconds since the epoch).
        case open(untilMillis: Int64)
        /// Letting up to `trialCalls` calls through; `started` of them are out, `succeeded` came back well.
        case halfOpen(started: Int, succeeded: Int)

        /// The name metrics and the API use.
        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
    }

    /// Whether a call may go ahead.
    public enum Permission: Sendable, Equatable {
        case allowed
        /// Refused; try again at this instant.
        case refused(retryAtMillis: Int64)
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed
    private var bucketStart: [Int64]
    private var successes: [Int]
    private var failures: [Int]

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        bucketStart = Array(repeating: .min, count: configuration.buckets)
        successes = Array(repeating: 0, count: configuration.buckets)
        failures = Array(repeating: 0, count: configuration.buckets)
    }

    /// Asks to make a call at `now`; an allowed call must be followed by one `record`.
    public mutating func permit(nowMillis now: Int64) -> Permission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .refused(retryAtMillis: until) }
            state = .halfOpen(started: 1, succeeded: 0)
            return .allowed
        case .halfOpen(let started, let succeeded):
            guard started < configuration.trialCalls else {
                // Trials are out; wait for their outcomes (a short, fixed pause).
                return .refused(retryAtMillis: now + min(configuration.openMillis, 1_000))
            }
            state = .halfOpen(started: started + 1, succeeded: succeeded)
            return .allowed
        }
    }

    /// Records the outcome of an allowed call that finished at `now`.
    public mutating func record(success: Bool, nowMillis now: Int64) {
        switch state {
        case .closed:
            let index = bucket(for: now)
            if success { successes[index] += 1 } else { failures[index] += 1 }
            let (calls, failed) = totals(now: now)
            if calls >= configuration.minimumCalls && failed * 100 >= configuration.failurePercent * calls {
                trip(now: now)
            }
        case .open:
            // A call allowed before the breaker opened came back late: it changes nothing.
            break
        case .halfOpen(let started, let succeeded):
            guard success else { return trip(now: now) }
            if succeeded + 1 >= configuration.trialCalls {
                state = .closed
                resetWindow()
            } else {
                state = .halfOpen(started: started, succeeded: succeeded + 1)
            }
        }
    }

    /// The calls and failures counted in the window ending at `now`.
    public func totals(now: Int64) -> (calls: Int, failures: Int) {
        var calls = 0
        var failed = 0
        // The slots hold the latest buckets; ones that started a whole window ago are stale.
        for index in 0..<configuration.buckets where bucketStart[index] != .min && bucketStart[index] > now - configuration.windowMillis {
            calls += successes[index] + failures[index]
            failed += failures[index]
        }
        return (calls, failed)
    }

    private var bucketWidth: Int64 { max(1, configuration.windowMillis / Int64(configuration.buckets)) }

    private mutating func bucket(for now: Int64) -> Int {
        let width = bucketWidth
        let start = now - ((now % width) + width) % width
        let index = Int((start / width) % Int64(configuration.buckets))
        let slot = index < 0 ? index + configuration.buckets : index
        if bucketStart[slot] != start {
            bucketStart[slot] = start
            successes[slot] = 0
            failures[slot] = 0
        }
        return slot
    }

    private mutating func trip(now: Int64) {
        state = .open(untilMillis: now + configuration.openMillis)
        resetWindow()
    }

    private mutating func resetWindow() {
        for index in 0..<configuration.buckets {
            bucketStart[index] = .min
            successes[index] = 0
            failures[index] = 0
        }
    }
}
