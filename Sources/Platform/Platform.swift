import Actors
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
    public let store: any PlatformStore

    public init(
        store: any PlatformStore, ledger: any LedgerStore, appender: (any LedgerAppender)? = nil, clock: any TallyClock = SystemClock(),
        cache: CredentialCache, usage: KeyUsageRecorder?, directory: TenantDirectory? = nil, features: (any FeatureStore)? = nil
    ) {
        self.store = store
        self.features = features.map { FeatureService(store: $0, clock: clock) }
        let directory = directory ?? TenantDirectory(loader: Self.loader(store: store, ledger: ledger), logger: Logger(label: "tally.tenants"))
        self.metering = MeteringService(ledger: ledger, appender: appender, clock: clock, directory: directory)
        self.tenants = TenantService(store: store, clock: clock, cache: cache, directory: directory)
        self.apiKeys = APIKeyService(store: store, clock: clock, cache: cache, usage: usage)
        self.serviceIdentities = ServiceIdentityService(store: store, clock: clock, cache: cache)
    }

    /// How tenant actors load their state: the meter catalog from the ledger, the event-time
    /// policy from the tenant's settings.
    public static func loader(store: any PlatformStore, ledger: any LedgerStore) -> TenantActor.Loader {
        TenantActor.Loader(
            catalog: { scope in try await ledger.meterCatalog(in: scope) },
            policy: { tenant in
                guard let found = try await store.tenant(id: tenant) else { return .standard }
                return TenantActor.TenantPolicy(
                    time: (try? TenantMeteringSettings.policy(from: found.settings)) ?? .standard,
                    rateLimits: (try? TenantRateLimits.parse(found.settings)) ?? TenantRateLimits()
                )
            }
        )
    }
}
