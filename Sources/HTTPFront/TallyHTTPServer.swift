import Actors
import Core
import Entitlements
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import Metrics
import Platform
import Prometheus
import ServiceLifecycle
import Storage

/// Builds Tally's router and HTTP application: the middleware chain, every route, `/metrics`
/// and `/openapi.json`.
public enum TallyHTTPServer {
    /// What `GET /health/live` answers (`tally bench plain-server` answers the same).
    public static let liveText = #"{"status":"ok"}"#

    /// The Prometheus factory for `registry` with Tally's histogram buckets: durations use
    /// swift-prometheus's defaults, group sizes `GroupCommitMetrics.eventBuckets`.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[GroupCommitMetrics.eventsLabel] = GroupCommitMetrics.eventBuckets
        return factory
    }

    /// The router with every route. In front of every route, one layer (`FrontMiddleware`):
    /// request id, body limit, errors to problem+json, security headers, access log and
    /// metrics; `/v1` and `/api` add auth (with the failed-authentication limit per client
    /// address) and rate limits, in one layer.
    public static func router(
        platform: Platform, idempotency: any IdempotencyStore, dependencies: [DependencyCheck], registry: PrometheusCollectorRegistry, settings: Settings
    ) -> Router<TallyRequestContext> {
        let router = Router(context: TallyRequestContext.self)
        let routeTable = RouteTableBox()
        router.add(middleware: FrontMiddleware(
            requestIDs: RequestIDs(), bodyLimit: BodyLimit(maxBytes: max(settings.maxBodyBytes, settings.maxBatchBytes)),
            errors: ErrorResponses(routes: routeTable), securityHeaders: SecurityHeaders(environment: settings.environment),
            accessLog: AccessLog(metrics: HTTPMetrics(factory: metricsFactory(registry: registry)), lines: settings.accessLog)
        ))
        let limiter = RateLimiter()
        let auth = AuthMiddleware(
            keys: platform.apiKeys, failures: RateLimiter(),
            failurePolicy: RateLimitPolicy(name: "auth-failures", limit: settings.rateLimitAuthFailuresPerMinute, window: 60),
            limits: RateLimits(
                limiter: limiter, directory: platform.metering.directory,
                tenantPerSecond: settings.rateLimitTenantPerSecond, keyPerSecond: settings.rateLimitKeyPerSecond
            )
        )

        HealthRoutes(dependencies: dependencies, timeout: .seconds(2)).register(on: router)
        router.get("metrics") { _, _ in
            // Tally's own series, then the process's (CPU, memory, file descriptors) as the
            // standard Prometheus process collector names them.
            var text = registry.emitToBuffer()
            if let process = ProcessStats.current() { text += Array(process.prometheusText.utf8) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: .init(bytes: text))
            )
        }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: .init(string: OpenAPIDocument.json))
            )
        }

        let v1 = router.group("v1").add(middleware: auth)
        TenantRoutes(platform: platform, bodyLimit: settings.maxBodyBytes).register(on: v1)
        APIKeyRoutes(platform: platform, bodyLimit: settings.maxBodyBytes).register(on: v1)
        ServiceIdentityRoutes(platform: platform, bodyLimit: settings.maxBodyBytes).register(on: v1)
        let meters = MeterRoutes(platform: platform, bodyLimit: settings.maxBodyBytes)
        meters.register(on: v1)
        let events = EventRoutes(
            platform: platform, idempotency: idempotency, maxBatchEvents: settings.maxBatchEvents, maxBatchBytes: settings.maxBatchBytes,
            idempotencyTTL: .seconds(settings.idempotencyTTLSeconds)
        )
        events.register(on: v1)
        if let features = platform.features { FeatureRoutes(features: features, bodyLimit: settings.maxBodyBytes).register(on: v1) }
        if let entitlements = platform.entitlements {
            EntitlementRoutes(entitlements: entitlements, platform: platform, bodyLimit: settings.maxBodyBytes).register(on: v1)
        }
        if let jobs = platform.jobs { JobRoutes(jobs: jobs, bodyLimit: settings.maxBodyBytes).register(on: v1) }
        let webhookRoutes = platform.webhooks.map { WebhookRoutes(webhooks: $0, bodyLimit: settings.maxBodyBytes) }
        webhookRoutes?.register(on: v1)
        if let inbound = platform.inboundWebhooks { InboundWebhookRoutes(inbound: inbound, bodyLimit: settings.maxBodyBytes).register(on: router) }
        var billingRoutes: BillingRoutes?
        if let billing = platform.billing, let invoices = platform.invoices, let run = platform.billingRun {
            billingRoutes = BillingRoutes(billing: billing, invoices: invoices, run: run, platform: platform, bodyLimit: settings.maxBodyBytes)
            billingRoutes?.register(on: v1)
            billingRoutes?.registerCallback(on: router, provider: invoices.provider)
        }
        // The platform brief's names for the same operations.
        let api = router.group("api").add(middleware: auth)
        api.post("usage") { request, context in try await events.ingest(request, context) }
        api.get("usage") { request, context in try await meters.usage(request, context) }
        webhookRoutes?.registerAliases(on: api)
        billingRoutes?.registerAliases(on: api)
        routeTable.table = RouteTable(router.routes.map { ($0.method.rawValue, OpenAPIPath.template(fromRouter: $0.path.description)) })
        return router
    }

    /// The HTTP application bound to the configured address, running `services` beside it.
    public static func application(
        router: Router<TallyRequestContext>, settings: Settings, services: [any Service], logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let pause = RefusalPause(first: .milliseconds(settings.rateLimitRefusalPauseMilliseconds))
        return Application(
            router: router,
            // Off (0 ms), the handler is left out of the pipeline altogether.
            server: .http1(configuration: .init(additionalChannelHandlers: pause.first > .zero ? [RefusalPauseHandler(pause: pause)] : [])),
            configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: nil),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}
