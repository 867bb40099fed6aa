import Metrics
import Scheduler
import Synchronization

/// One circuit breaker per downstream host, shared by every job on this node that calls out.
/// Each breaker's state is exported as the gauge `tally_circuit_breaker_state{host}`
/// (0 closed, 1 half-open, 2 open).
public final class BreakerRegistry: Sendable {
    public let configuration: CircuitBreaker.Configuration
    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    private let metrics: any MetricsFactory

    public init(configuration: CircuitBreaker.Configuration = CircuitBreaker.Configuration(), metrics: any MetricsFactory = MetricsSystem.factory) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Asks to call `host` at `now`; an allowed call must be followed by `record`.
    public func permit(host: String, nowMillis: Int64) -> CircuitBreaker.Permission {
        let (permission, state) = breakers.withLock { breakers in
            var breaker = breakers[host] ?? CircuitBreaker(configuration)
            let permission = breaker.permit(nowMillis: nowMillis)
            breakers[host] = breaker
            return (permission, breaker.state)
        }
        export(host, state)
        return permission
    }

    /// Records how an allowed call to `host` went.
    public func record(host: String, success: Bool, nowMillis: Int64) {
        let state = breakers.withLock { breakers in
            var breaker = breakers[host] ?? CircuitBreaker(configuration)
            breaker.record(success: success, nowMillis: nowMillis)
            breakers[host] = breaker
            return breaker.state
        }
        export(host, state)
    }

    /// Every host's breaker state.
    public var states: [String: CircuitBreaker.State] { breakers.withLock { $0.mapValues(\.state) } }

    private func export(_ host: String, _ state: CircuitBreaker.State) {
        let value: Double
        switch state {
        case .closed: value = 0
        case .halfOpen: value = 1
        case .open: value = 2
        }
        Gauge(label: "tally_circuit_breaker_state", dimensions: [("host", host)], factory: metrics).record(value)
    }
}
