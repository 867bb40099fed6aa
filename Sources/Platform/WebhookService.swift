import Core
import Metering
import Scheduler
import Storage

/// A tenant's outbound webhooks: endpoints (with rotation and re-enabling), sending events to
/// every endpoint that subscribes (one delivery and one job per endpoint, written together),
/// test messages, the delivery log and manual retries.
public struct WebhookService: Sendable {
    /// The outbound address policy (SSRF): loopback and private networks are refused unless allowed.
    public struct Policy: Sendable {
        public var allowLoopback = false
        public var allowPrivateNetworks = false
        public init(allowLoopback: Bool = false, allowPrivateNetworks: Bool = false) {
            self.allowLoopback = allowLoopback
            self.allowPrivateNetworks = allowPrivateNetworks
        }
    }

    /// The job kind and queue deliveries run as.
    public static let deliveryKind = "webhook.deliver"
    public static let queue = "webhooks"
    /// Standard Webhooks' retry schedule: the first attempt at once, then these waits.
    public static let schedule: [Duration] = [.seconds(5), .seconds(300), .seconds(1_800), .seconds(7_200), .seconds(18_000), .seconds(36_000), .seconds(36_000)]

    let store: any WebhookStore
    let jobs: any JobQueue
    let clock: any TallyClock
    let policy: Policy
    let resolver: HostResolver

    public init(store: any WebhookStore, jobs: any JobQueue, clock: any TallyClock, policy: Policy, resolver: HostResolver = HostResolver()) {
        self.store = store
        self.jobs = jobs
        self.clock = clock
        self.policy = policy
        self.resolver = resolver
    }

    /// The service clock's now, in milliseconds.
    public var nowMillis: Int64 { clock.nowMillis }

    /// What a create or update asks for.
    public struct EndpointInput: Sendable {
        public var url: String?
        public var description: String?
        public var eventTypes: [String]?
        public var secret: String?
        public var enabled: Bool?
        public init(url: String? = nil, description: String? = nil, eventTypes: [String]? = nil, secret: String? = nil, enabled: Bool? = nil) {
            self.url = url
            self.description = description
            self.eventTypes = eventTypes
            self.secret = secret
            self.enabled = enabled
        }
    }

    /// Checks a URL against the address policy: every address its host resolves to must be allowed.
    public func checkTarget(_ url: String) async throws {
        let target = try WebhookEndpoint.target(url)
        let addresses = try await resolver.addresses(of: target.host)
        guard !addresses.isEmpty else { throw TallyError.validation("url", "the host \(target.host) does not resolve") }
        for address in addresses where !address.isAllowed(loopback: policy.allowLoopback, privateNetworks: policy.allowPrivateNetworks) {
            throw TallyError.validation("url", "url resolves to \(address) (\(address.scope.rawValue)), which webhooks may not call")
        }
    }

    public func create(_ input: EndpointInput, in scope: TenantScope) async throws -> WebhookEndpoint {
        guard let url = input.url else { throw TallyError.validation("url", "url is required") }
        try await checkTarget(url)
        let types = input.eventTypes ?? []
        try WebhookEndpoint.validateEventTypes(types)
        let description = try Self.description(input.description ?? "")
        var secret = WebhookSignature.Secret.generate()
        if let text = input.secret {
            guard let given = WebhookSignature.Secret(text) else { throw TallyError.validation("secret", "secret must be whsec_ and 24 to 64 bytes in base64") }
            secret = given
        }
        let now = nowMillis
        let endpoint = WebhookEndpoint(
            id: .generate(at: clock.now()), tenant: scope.tenantID, url: url, description: description, eventTypes: types, secret: secret,
            status: input.enabled == false ? .disabled : .enabled, disabledReason: input.enabled == false ? "disabled by the tenant" : nil,
            createdAtMillis: now, updatedAtMillis: now
        )
        try await store.insertEndpoint(endpoint, in: scope)
        return endpoint
    }

    public func list(in scope: TenantScope) async throws -> [WebhookEndpoint] {
        try await store.endpoints(in: scope)
    }

    public func get(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> WebhookEndpoint {
        guard let endpoint = try await store.endpoint(id, in: scope) else { throw TallyError.notFound("webhook endpoint") }
        return endpoint
    }

    /// Changes what the input names; re-enabling clears the failing streak.
    public func update(_ id: WebhookEndpointID, _ input: EndpointInput, in scope: TenantScope) async throws -> WebhookEndpoint {
        var endpoint = try await get(id, in: scope)
        if input.secret != nil { throw TallyError.validation("secret", "rotate the secret with POST /v1/webhooks/{id}/rotate-secret") }
        if let url = input.url {
            try await checkTarget(url)
            endpoint.url = url
        }
        if let description = input.description { endpoint.description = try Self.description(description) }
        if let types = input.eventTypes {
            try WebhookEndpoint.validateEventTypes(types)
            endpoint.eventTypes = types
        }
        if let enabled = input.enabled {
            endpoint.status = enabled ? .enabled : .disabled
            endpoint.disabledReason = enabled ? nil : "disabled by the tenant"
            if enabled { endpoint.failingSinceMillis = nil }
        }
        endpoint.updatedAtMillis = nowMillis
        guard try await store.updateEndpoint(endpoint, in: scope) else { throw TallyError.notFound("webhook endpoint") }
        return endpoint
    }

    public func delete(_ id: WebhookEndpointID, in scope: TenantScope) async throws {
        guard try await store.deleteEndpoint(id, in: scope) else { throw TallyError.notFound("webhook endpoint") }
    }

    /// A new secret; the old one keeps signing (beside the new) for 24 hours.
    public func rotateSecret(_ id: WebhookEndpointID, secret text: String?, in scope: TenantScope) async throws -> WebhookEndpoint {
        var endpoint = try await get(id, in: scope)
        var secret = WebhookSignature.Secret.generate()
        if let text {
            guard let given = WebhookSignature.Secret(text) else { throw TallyError.validation("secret", "secret must be whsec_ and 24 to 64 bytes in base64") }
            secret = given
        }
        let now = nowMillis
        endpoint.previousSecret = endpoint.secret
        endpoint.previousSecretUntilMillis = now + WebhookEndpoint.rotationOverlapMillis
        endpoint.secret = secret
        endpoint.updatedAtMillis = now
        guard try await store.updateEndpoint(endpoint, in: scope) else { throw TallyError.notFound("webhook endpoint") }
        return endpoint
    }

    /// Sends an event to every enabled endpoint that receives its type; answers the deliveries.
    @discardableResult
    public func send(type: String, data: JSONValue, in scope: TenantScope) async throws -> [WebhookDelivery] {
        guard WebhookEndpoint.isEventType(type) else { throw TallyError.validation("type", "type is 1 to 128 characters of a-z, A-Z, 0-9, '.', '_' or '-'") }
        let targets = try await store.endpoints(in: scope).filter { $0.status == .enabled && $0.receives(type) }
        return try await deliver(type: type, data: data, to: targets, in: scope)
    }

    /// Sends a `webhook.test` message to one endpoint, whatever it subscribes to.
    public func sendTest(_ id: WebhookEndpointID, in scope: TenantScope) async throws -> WebhookDelivery {
        let endpoint = try await get(id, in: scope)
        guard endpoint.status == .enabled else { throw TallyError(.conflict, "the endpoint is disabled; enable it first", field: "status") }
        let sent = try await deliver(type: "webhook.test", data: .object(["endpoint_id": .string(id.rawValue)]), to: [endpoint], in: scope)
        return sent[0]
    }

    private func deliver(type: String, data: JSONValue, to endpoints: [WebhookEndpoint], in scope: TenantScope) async throws -> [WebhookDelivery] {
        guard !endpoints.isEmpty else { return [] }
        let now = nowMillis
        let body = String(decoding: JSONWriter.encode(.object([
            "type": .string(type), "timestamp": .string(RFC3339.format(microseconds: now * 1_000)), "data": data,
        ])), as: UTF8.self)
        let items = endpoints.map { endpoint -> (WebhookDelivery, JobSpec) in
            let delivery = WebhookDelivery(
                id: .generate(at: clock.now()), endpoint: endpoint.id, tenant: scope.tenantID, eventType: type, payload: body,
                createdAtMillis: now, updatedAtMillis: now
            )
            return (delivery, Self.job(for: delivery.id, tenant: scope.tenantID))
        }
        let jobIDs = try await store.insertDeliveries(items, in: scope, nowMillis: now)
        // After the commit; if this fails the reconciler dispatches them.
        try? await jobs.dispatch(jobIDs, nowMillis: now)
        return zip(items, jobIDs).map { item, job in
            var delivery = item.0
            delivery.jobID = job
            return delivery
        }
    }

    static func job(for delivery: WebhookMessageID, tenant: TenantID) -> JobSpec {
        JobSpec(kind: deliveryKind, queue: queue, tenant: tenant, args: #"{"delivery_id":"\#(delivery.rawValue)"}"#, priority: 2, maxAttempts: schedule.count + 1)
    }

    public func deliveries(of id: WebhookEndpointID, in scope: TenantScope, limit: Int, before: WebhookMessageID?) async throws -> [WebhookDelivery] {
        _ = try await get(id, in: scope)
        return try await store.deliveries(of: id, in: scope, limit: limit, before: before)
    }

    public func delivery(_ id: WebhookMessageID, in scope: TenantScope) async throws -> WebhookDelivery {
        guard let delivery = try await store.delivery(id, in: scope) else { throw TallyError.notFound("webhook delivery") }
        return delivery
    }

    /// Sends a delivery again (a new job with a fresh schedule), whatever its state.
    public func retry(_ id: WebhookMessageID, in scope: TenantScope) async throws -> WebhookDelivery {
        let now = nowMillis
        guard let job = try await store.retryDelivery(id, job: Self.job(for: id, tenant: scope.tenantID), in: scope, nowMillis: now) else {
            throw TallyError.notFound("webhook delivery")
        }
        try? await jobs.dispatch([job], nowMillis: now)
        return try await delivery(id, in: scope)
    }

    static func description(_ text: String) throws -> String {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.count <= 500 else { throw TallyError.validation("description", "description is at most 500 characters") }
        return trimmed
    }

    /// An endpoint as the API shows it (the secrets never: only whether a previous one still signs).
    public static func json(_ endpoint: WebhookEndpoint, nowMillis: Int64, includeSecret: Bool = false) -> JSONValue {
        let time = RFC3339.json(millis:)
        var object: [String: JSONValue] = [
            "id": .string(endpoint.id.rawValue), "tenant_id": .string(endpoint.tenant.rawValue), "url": .string(endpoint.url),
            "description": .string(endpoint.description), "event_types": .array(endpoint.eventTypes.map { .string($0) }),
            "status": .string(endpoint.status.rawValue), "disabled_reason": endpoint.disabledReason.map { .string($0) } ?? .null,
            "failing_since": time(endpoint.failingSinceMillis),
            "previous_secret_until": endpoint.signingSecrets(nowMillis: nowMillis).count > 1 ? time(endpoint.previousSecretUntilMillis) : .null,
            "created_at": time(endpoint.createdAtMillis), "updated_at": time(endpoint.updatedAtMillis),
        ]
        if includeSecret { object["secret"] = .string(endpoint.secret.text) }
        return .object(object)
    }

    /// A delivery as the API shows it.
    public static func json(_ delivery: WebhookDelivery) -> JSONValue {
        let time = RFC3339.json(millis:)
        return .object([
            "id": .string(delivery.id.rawValue), "endpoint_id": .string(delivery.endpoint.rawValue), "event_type": .string(delivery.eventType),
            "payload": (try? JSONParser.parse(delivery.payload.utf8)) ?? .string(delivery.payload), "status": .string(delivery.status.rawValue),
            "attempts": .array(delivery.attempts.map { attempt in
                .object(["at": time(attempt.atMillis), "status": attempt.status.map { .number(Double($0)) } ?? .null,
                         "error": attempt.error.map { .string($0) } ?? .null, "duration_ms": .number(Double(attempt.durationMillis))])
            }),
            "job_id": delivery.jobID.map { .string($0.rawValue) } ?? .null,
            "created_at": time(delivery.createdAtMillis), "delivered_at": time(delivery.deliveredAtMillis),
        ])
    }
}
