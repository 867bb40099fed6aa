import Core
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization

/// Logs one structured line per request (every request, only those answered 400 and up, or
/// none: `TALLY_ACCESS_LOG`) and records the request metrics for every request: a counter by
/// route, method and status, and a latency histogram by route and method. Routes are templates
/// (`/v1/tenants/{id}`), and unmatched paths share one label, so label values stay bounded.
struct AccessLog: Sendable {
    let metrics: HTTPMetrics
    var lines = Settings.AccessLog.all

    /// Records a finished request: metrics always, the line when `lines` asks for it.
    func record(_ request: Request, context: TallyRequestContext, response: Response, elapsed: Duration) {
        let route = context.endpointPath.map(metrics.template(of:)) ?? "unmatched"
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        // Build the line only when it is written.
        guard lines == .all || (lines == .errors && response.status.code >= 400), context.logger.logLevel <= .info else { return }
        // Sorted by key, as a JSON log line orders its fields.
        var fields: [(key: String, value: String)] = []
        fields.reserveCapacity(6)
        if let key = context.locals.keyID { fields.append((LogKey.apiKeyID, key)) }
        fields.append((LogKey.durationMS, Self.milliseconds(microseconds: elapsed.totalMicroseconds)))
        fields.append((LogKey.method, request.method.rawValue))
        fields.append((LogKey.route, route))
        fields.append((LogKey.status, Self.statusText(response.status.code)))
        if let tenant = context.locals.tenantID { fields.append((LogKey.tenantID, tenant)) }
        // The server's handler takes the fields as they are (no metadata dictionary per request);
        // another handler gets them through `Logger`.
        if let handler = context.logger.handler as? JSONLogHandler {
            handler.log(level: .info, message: "request", sortedFields: fields)
        } else {
            context.logger.info("request", metadata: Logger.Metadata(uniqueKeysWithValues: fields.map { ($0.key, .string($0.value)) }))
        }
    }

    /// The status code as text, from a table for the codes HTTP defines.
    static func statusText(_ code: Int) -> String {
        (100..<600).contains(code) ? statusTexts[code - 100] : String(code)
    }

    private static let statusTexts = (100..<600).map { String($0) }

    /// Microseconds as milliseconds with three decimals (`0.006`, `12.345`), by integer
    /// arithmetic (a `Double`'s description costs more than the rest of the line).
    static func milliseconds(microseconds: Int64) -> String {
        var bytes: [UInt8] = microseconds < 0 ? [UInt8(ascii: "-")] : []
        let magnitude = Int(microseconds.magnitude)
        bytes.appendDigits(magnitude / 1000, width: 1)
        bytes.append(UInt8(ascii: "."))
        bytes.appendDigits(magnitude % 1000, width: 3)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The HTTP metrics, made through swift-metrics with an injected factory (Prometheus in the server).
/// The handles are made once per label set and kept (the label sets are bounded: route templates,
/// methods, statuses), so a request costs a dictionary look-up, not a registry look-up.
public struct HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    private let handles = HandleCache()

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// The OpenAPI template of a router path (`/v1/tenants/{id}`), converted once per path.
    func template(of routerPath: String) -> String {
        if let known = handles.templates.withLock({ $0[routerPath] }) { return known }
        let template = OpenAPIPath.template(fromRouter: routerPath)
        handles.templates.withLock { $0[routerPath] = template }
        return template
    }

    func record(route: String, method: String, status: Int, duration: Duration) {
        let (counter, timer) = handles.get(route: route, method: method, status: status) {
            (
                Counter(label: "tally_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory),
                Timer(label: "tally_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            )
        }
        counter.increment()
        timer.recordNanoseconds(duration.totalNanoseconds)
    }

    final class HandleCache: Sendable {
        struct Key: Hashable { let route: String, method: String, status: Int }
        private let handles = Mutex<[Key: (Counter, Timer)]>([:])
        let templates = Mutex<[String: String]>([:])

        func get(route: String, method: String, status: Int, make: () -> (Counter, Timer)) -> (Counter, Timer) {
            let key = Key(route: route, method: method, status: status)
            if let found = handles.withLock({ $0[key] }) { return found }
            let made = make()
            return handles.withLock { handles in
                if let found = handles[key] { return found }
                handles[key] = made
                return made
            }
        }
    }
}
