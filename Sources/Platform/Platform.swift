import Actors
import Core
import Logging
import Storage

/// The platform services over one store, shared by the HTTP front and the CLI.
public struct Platform: Sendable {
    public let tenants: TenantService
    public let apiKeys: APIKeyService
    public let serviceIdentities: ServiceIdentityService
    public let metering: MeteringService
    public let store: any PlatformStore

    public init(
        store: any PlatformStore, ledger: any LedgerStore, appender: (any LedgerAppender)? = nil, clock: any TallyClock = SystemClock(),
        cache: CredentialCache, usage: KeyUsageRecorder?
    ) {
        self.store = store
        self.metering = MeteringService(ledger: ledger, appender: appender, clock: clock)
        self.tenants = TenantService(store: store, clock: clock, cache: cache)
        self.apiKeys = APIKeyService(store: store, clock: clock, cache: cache, usage: usage)
        self.serviceIdentities = ServiceIdentityService(store: store, clock: clock, cache: cache)
    }
}
