import Actors
import Core
import Storage

/// What creating a service identity takes.
public struct NewServiceIdentity: Sendable, Equatable, Decodable {
    public var name: String
    public var description: String?

    public init(name: String, description: String? = nil) {
        self.name = name
        self.description = description
    }
}

/// Service identities: non-human principals of a tenant that own API keys.
public struct ServiceIdentityService: Sendable {
    let store: any PlatformStore
    let clock: any TallyClock
    let cache: CredentialCache

    public func create(in scope: TenantScope, _ input: NewServiceIdentity) async throws -> ServiceIdentity {
        try TenantRules.validateName(input.name)
        let description = input.description ?? ""
        guard description.unicodeScalars.count <= 1000 else { throw TallyError.validation("description", "description must be at most 1000 characters") }
        let now = clock.now()
        let identity = ServiceIdentity(
            id: .generate(at: now), tenantID: scope.tenantID, name: input.name.trimmingWhitespace(),
            description: description, createdAt: now
        )
        try await store.insertServiceIdentity(identity)
        return identity
    }

    public func list(in scope: TenantScope, _ page: PageRequest) async throws -> Page<ServiceIdentity> {
        try await store.serviceIdentities(in: scope, page)
    }

    public func get(_ id: ServiceIdentityID, in scope: TenantScope) async throws -> ServiceIdentity {
        guard let identity = try await store.serviceIdentity(id, in: scope) else { throw TallyError.notFound("service identity") }
        return identity
    }

    /// Disables the identity and revokes every key it owns.
    public func disable(_ id: ServiceIdentityID, in scope: TenantScope) async throws -> ServiceIdentity {
        guard let identity = try await store.disableServiceIdentity(id, in: scope, at: clock.now()) else {
            throw TallyError.notFound("service identity")
        }
        cache.invalidate(tenant: scope.tenantID)
        return identity
    }
}
