import Actors
import Billing
import Core
import Foundation
import HTTPFront
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Prometheus
import Storage
import TallyTestSupport

/// A Tally HTTP server on a real socket over a fresh backend, with an operator key.
struct TestServer: Sendable {
    let client: any TestClientProtocol
    let platform: Platform
    let backend: StorageBackend
    let operatorToken: String
    /// Every route the router serves, as "METHOD /openapi/{template}".
    let routes: [String]

    /// Starts a server on `backend` (extra readiness checks optional) and runs `body` against it.
    /// `wrap` puts something between the group committer and the ledger (a fault to inject).
    static func run(
        _ backend: TestBackend, maxBodyBytes: Int = 1_048_576, maxBatchEvents: Int = 10_000, extraDependencies: [DependencyCheck] = [],
        ingestLimits: AdmissionLimits = .defaults, configure: @Sendable (inout Settings) -> Void = { _ in }, clock: any TallyClock = SystemClock(),
        billing: BillingContext.Configuration = BillingContext.Configuration(), paymentProvider: any PaymentProvider = ManualPaymentProvider(),
        ledger wrap: @escaping @Sendable (any LedgerStore) -> any LedgerAppender = { $0 },
        _ body: @escaping @Sendable (TestServer) async throws -> Void
    ) async throws {
        try await backend.withBackend { storage, settings in
            var settings = settings
            settings.maxBodyBytes = maxBodyBytes
            settings.maxBatchEvents = maxBatchEvents
            settings.httpPort = 0
            configure(&settings)
            let registry = PrometheusCollectorRegistry()
            let committer = GroupCommitter(ledger: wrap(storage.ledger), metrics: TallyHTTPServer.metricsFactory(registry: registry), logger: TestBackend.logger)
            // As `tally serve` wires it: with Redis, hard limits are spent from leases.
            let leasing = TenantQuota.Leasing(settings: settings, redis: storage.redis)
            let directory = TenantDirectory(
                loader: Platform.loader(store: storage.store, ledger: storage.ledger, entitlements: storage.entitlements), limits: ingestLimits,
                leasing: leasing, logger: TestBackend.logger
            )
            let usage = KeyUsageRecorder(store: storage.store, logger: TestBackend.logger)
            let platform = Platform(
                store: storage.store, ledger: storage.ledger, appender: committer, clock: clock, cache: CredentialCache(ttl: .seconds(5)), usage: usage, directory: directory,
                entitlements: storage.entitlements, jobs: storage.jobs, webhooks: storage.webhooks,
                webhookPolicy: WebhookService.Policy(allowLoopback: true), inboundWebhookSecrets: TestServer.inboundSecrets, billing: storage.billing,
                billingConfiguration: billing, paymentProvider: paymentProvider
            )
            let issued = try await platform.apiKeys.createOperatorKey(name: "test operator")
            let router = TallyHTTPServer.router(
                platform: platform, idempotency: storage.idempotency, dependencies: storage.dependencies + extraDependencies, registry: registry, settings: settings
            )
            let routes = router.routes.map { "\($0.method) \(OpenAPIPath.template(fromRouter: $0.path.description))" }
            let app = TallyHTTPServer.application(router: router, settings: settings, services: [committer, directory, usage], logger: TestBackend.logger)
            try await app.test(.live) { client in
                try await body(TestServer(client: client, platform: platform, backend: storage, operatorToken: issued.token.text, routes: routes))
            }
        }
    }

    /// The inbound webhook sources the test server accepts (the Standard Webhooks test secret).
    static let inboundSecrets = ["test-source": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

    /// One request: `json` is encoded as the body unless `rawBody` is given.
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: Any? = nil, rawBody: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> Reply {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let rawBody {
            body = ByteBuffer(string: rawBody)
        } else if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        }
        let response = try await client.executeRequest(uri: path, method: method, headers: fields, body: body)
        return Reply(status: response.status.code, headers: response.headers, body: Data(buffer: response.body))
    }

    /// Creates a tenant and a key for it through the API, returning the ids and the secret.
    func makeTenant(_ slug: String, scopes: [String]? = nil) async throws -> (tenantID: String, keyID: String, token: String) {
        let created = try await call(.post, "/v1/tenants", token: operatorToken, json: ["slug": slug, "name": "Tenant \(slug)"])
        guard created.status == 201, let tenantID = created.object["id"] as? String else { throw TestSetupError("tenant create: \(created)") }
        var input: [String: Any] = ["name": "\(slug) key"]
        if let scopes { input["scopes"] = scopes }
        let key = try await call(.post, "/v1/tenants/\(tenantID)/api-keys", token: operatorToken, json: input)
        guard key.status == 201, let keyID = key.object["id"] as? String, let secret = key.object["secret"] as? String else {
            throw TestSetupError("key create: \(key)")
        }
        return (tenantID, keyID, secret)
    }
}

/// A response, with its body parsed as JSON where it is JSON.
struct Reply: Sendable, CustomStringConvertible {
    let status: Int
    let headers: HTTPFields
    let body: Data

    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var code: String? { object["code"] as? String }
    var items: [[String: Any]] { object["data"] as? [[String: Any]] ?? [] }
    var text: String { String(decoding: body, as: UTF8.self) }
    var description: String { "\(status) \(text)" }
}
