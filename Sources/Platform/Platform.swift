import Actors
import Billing
import Core
import Logging
import Entitlements
import Metering
import Storage

/// The platform services over one store, shared by the HTTP front and the CLI.
public struct Platform: Sendable {
    public let tenants: TenantService
    public let apiKeys: APIKeyService
    public let serviceIdentities: ServiceIdentityService
    public let metering: MeteringService
    /// The feature catalog; `nil` where no store was given (CLI tools that do not need it).
    public let features: FeatureService?
    /// Plans, tenants' entitlements, grants and checks; `nil` where no store was given.
    public let entitlements: EntitlementService?
    /// Background jobs and the dead-letter queue; `nil` where no queue was given.
    public let jobs: JobService?
    /// Outbound webhooks; `nil` where no webhook store (or no queue) was given.
    public let webhooks: WebhookService?
    /// Webhooks other systems send Tally; `nil` without a webhook store and a queue.
    public let inboundWebhooks: InboundWebhookService?
    /// Prices, billing settings and subscriptions; `nil` without a billing store.
    public let billing: BillingService?
    /// Invoices, payments and credit notes; `nil` without a billing store.
    public let invoices: InvoiceService?
    /// The billing run; `nil` without a billing store.
    public let billingRun: BillingRun?
    public let store: any PlatformStore

    public init(
        store: any PlatformStore, ledger: any LedgerStore, appender: (any LedgerAppender)? = nil, clock: any TallyClock = SystemClock(),
        cache: CredentialCache, usage: KeyUsageRecorder?, directory: TenantDirectory? = nil, entitlements: (any EntitlementStore)? = nil,
        jobs: (any JobQueue)? = nil, webhooks: (any WebhookStore)? = nil, webhookPolicy: WebhookService.Policy = WebhookService.Policy(),
        inboundWebhookSecrets: [String: String] = [:], billing: (any BillingStore)? = nil,
        billingConfiguration: BillingContext.Configuration = BillingContext.Configuration(), paymentProvider: any PaymentProvider = ManualPaymentProvider()
    ) {
        self.store = store
        self.jobs = jobs.map { JobService(queue: $0, store: store, clock: clock) }
        let outbound = jobs.flatMap { jobs in webhooks.map { WebhookService(store: $0, jobs: jobs, clock: clock, policy: webhookPolicy) } }
        self.webhooks = outbound
        self.inboundWebhooks = jobs.flatMap { jobs in webhooks.map { InboundWebhookService(store: $0, jobs: jobs, secrets: inboundWebhookSecrets, clock: clock) } }
        self.features = entitlements.map { FeatureService(store: $0, clock: clock) }
        let directory = directory ?? TenantDirectory(
            loader: Self.loader(store: store, ledger: ledger, entitlements: entitlements), logger: Logger(label: "tally.tenants")
        )
        let entitlementService = entitlements.map { EntitlementService(store: $0, ledger: ledger, clock: clock, directory: directory) }
        self.entitlements = entitlementService
        let billingContext = billing.map {
            BillingContext(store: $0, ledger: ledger, entitlements: entitlementService, webhooks: outbound, provider: paymentProvider, jobs: jobs, clock: clock,
                           configuration: billingConfiguration)
        }
        self.billing = billingContext.map { BillingService(context: $0) }
        self.invoices = billingContext.map { InvoiceService(context: $0) }
        self.billingRun = billingContext.map { BillingRun(context: $0) }
        self.metering = MeteringService(ledger: ledger, appender: appender, clock: clock, directory: directory, notices: entitlements, webhooks: outbound)
        self.tenants = TenantService(store: store, clock: clock, cache: cache, directory: directory)
        self.apiKeys = APIKeyService(store: store, clock: clock, cache: cache, usage: usage)
        self.serviceIdentities = ServiceIdentityService(store: store, clock: clock, cache: cache)
    }

    /// How tenant actors load their state: the meter catalog from the ledger; the event-time
    /// policy and rate limits from the tenant's settings (over its plan's rate limits); the
    /// entitlements and their usage from the entitlement store and the ledger's rollups.
    public static func loader(store: any PlatformStore, ledger: any LedgerStore, entitlements: (any EntitlementStore)?) -> TenantActor.Loader {
        TenantActor.Loader(
            catalog: { scope in try await ledger.meterCatalog(in: scope) },
            policy: { tenant in
                guard let found = try await store.tenant(id: tenant) else { return .standard }
                var planLimits = TenantRateLimits()
                if let entitlements, let plan = try await entitlements.tenantEntitlements(in: TenantScope(credentialTenant: tenant))?.plan {
                    planLimits = try await entitlements.plan(key: plan)?.rateLimits ?? planLimits
                }
                return TenantActor.TenantPolicy(
                    time: (try? TenantMeteringSettings.policy(from: found.settings)) ?? .standard,
                    rateLimits: ((try? TenantRateLimits.parse(found.settings)) ?? TenantRateLimits()).over(planLimits)
                )
            },
            quota: { tenant, now in
                guard let entitlements else { return QuotaBook() }
                return try await EntitlementService.loadBook(tenant, now: now, store: entitlements, ledger: ledger)
            }
        )
    }
}
