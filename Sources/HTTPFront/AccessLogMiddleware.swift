import Core
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// Logs one structured line per request and records the request metrics: a counter by route,
/// method and status, and a latency histogram by route and method. Routes are templates
/// (`/v1/tenants/{id}`), and unmatched paths share one label, so label values stay bounded.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath.map(OpenAPIPath.template(fromRouter:)) ?? "unmatched"
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        var metadata: Logger.Metadata = [
            LogKey.method: .string(request.method.rawValue), LogKey.route: .string(route),
            LogKey.status: .stringConvertible(response.status.code),
            LogKey.durationMS: .stringConvertible(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000),
        ]
        if let tenant = context.locals.tenantID { metadata[LogKey.tenantID] = .string(tenant) }
        if let key = context.locals.keyID { metadata[LogKey.apiKeyID] = .string(key) }
        context.logger.info("request", metadata: metadata)
        return response
    }
}

/// The HTTP metrics, made through swift-metrics with an injected factory (Prometheus in the server).
public struct HTTPMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func record(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "tally_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            .increment()
        Timer(label: "tally_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            .recordNanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
