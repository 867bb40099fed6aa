import Actors
import Core
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What creating an API key takes.
public struct NewAPIKey: Sendable, Equatable, Decodable {
    public var name: String
    /// Defaults to `Scope.tenantDefaults` for tenant keys.
    public var scopes: [Scope]?
    /// The service identity that will own the key.
    public var serviceIdentityID: ServiceIdentityID?
    public var expiresAt: Date?

    public init(name: String, scopes: [Scope]? = nil, serviceIdentityID: ServiceIdentityID? = nil, expiresAt: Date? = nil) {
        self.name = name
        self.scopes = scopes
        self.serviceIdentityID = serviceIdentityID
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case name, scopes, serviceIdentityID = "service_identity_id", expiresAt = "expires_at"
    }
}

/// A newly created key with its secret: the only moment the secret exists outside the caller.
/// Encodes as the key's fields plus `secret`.
public struct IssuedAPIKey: Sendable, Encodable {
    public let key: APIKey
    public let token: APIKeyToken

    public func encode(to encoder: any Encoder) throws {
        try key.encode(to: encoder)
        var container = encoder.container(keyedBy: SecretKey.self)
        try container.encode(token.text, forKey: .secret)
    }

    private enum SecretKey: String, CodingKey { case secret }
}

/// API keys: issue, list, revoke, and authenticate bearer tokens.
public struct APIKeyService: Sendable {
    let store: any PlatformStore
    let clock: any TallyClock
    let cache: CredentialCache
    let usage: KeyUsageRecorder?

    /// Issues a key for a tenant. When a tenant key (`grantor`) issues it, the new key cannot
    /// carry a scope the grantor lacks.
    public func createTenantKey(in scope: TenantScope, _ input: NewAPIKey, grantor: Principal?) async throws -> IssuedAPIKey {
        try TenantRules.validateName(input.name)
        let scopes = input.scopes ?? Scope.tenantDefaults
        guard !scopes.isEmpty else { throw TallyError.validation("scopes", "a key needs at least one scope") }
        if scopes.contains(.operator) { throw TallyError.validation("scopes", "tenant keys cannot carry the 'operator' scope") }
        if let grantor, grantor.tenantScope != nil {
            let excess = Set(scopes).subtracting(grantor.scopes)
            if !excess.isEmpty {
                throw TallyError(.forbidden, "a key cannot grant scopes it does not hold: \(excess.sorted().map(\.rawValue).joined(separator: ", "))", field: "scopes")
            }
        }
        let now = clock.now()
        if let expiresAt = input.expiresAt, expiresAt <= now {
            throw TallyError.validation("expires_at", "expires_at must be in the future")
        }
        if let identityID = input.serviceIdentityID {
            guard let identity = try await store.serviceIdentity(identityID, in: scope) else {
                throw TallyError(.notFound, "service identity not found", field: "service_identity_id")
            }
            guard identity.disabledAt == nil else {
                throw TallyError(.conflict, "the service identity is disabled", field: "service_identity_id")
            }
        }
        return try await issue(tenant: scope.tenantID, identity: input.serviceIdentityID, name: input.name, scopes: scopes, expiresAt: input.expiresAt, now: now)
    }

    /// Issues an operator (platform admin) key.
    public func createOperatorKey(name: String) async throws -> IssuedAPIKey {
        try TenantRules.validateName(name)
        return try await issue(tenant: nil, identity: nil, name: name, scopes: [.operator], expiresAt: nil, now: clock.now())
    }

    private func issue(tenant: TenantID?, identity: ServiceIdentityID?, name: String, scopes: [Scope], expiresAt: Date?, now: Date) async throws -> IssuedAPIKey {
        let id = APIKeyID.generate(at: now)
        let token = APIKeyToken.generate(keyID: id)
        let key = APIKey(
            id: id, tenantID: tenant, serviceIdentityID: identity, name: name, displayPrefix: token.displayPrefix,
            digest: token.digest, scopes: Set(scopes).sorted(), createdAt: now, expiresAt: expiresAt
        )
        try await store.insertAPIKey(key)
        return IssuedAPIKey(key: key, token: token)
    }

    public func list(in scope: TenantScope, _ page: PageRequest) async throws -> Page<APIKey> {
        try await store.apiKeys(in: scope, page)
    }

    public func listOperatorKeys(_ page: PageRequest) async throws -> Page<APIKey> {
        try await store.operatorKeys(page)
    }

    public func get(_ id: APIKeyID, in scope: TenantScope) async throws -> APIKey {
        guard let key = try await store.apiKey(id, in: scope) else { throw TallyError.notFound("API key") }
        return key
    }

    /// Revokes a tenant's key, or an operator key when `scope` is `nil`. Idempotent.
    public func revoke(_ id: APIKeyID, in scope: TenantScope?) async throws -> APIKey {
        guard let key = try await store.revokeAPIKey(id, in: scope, at: clock.now()) else { throw TallyError.notFound("API key") }
        cache.invalidate(key: id)
        return key
    }

    /// Authenticates the text after `Bearer `; throws the documented 401/403 errors.
    public func authenticate(token text: String) async throws -> Principal {
        guard let token = APIKeyToken(parsing: text) else { throw TallyError(.invalidAPIKey, "the API key is not valid") }
        let now = clock.now()
        let credential: StoredCredential?
        if let cached = cache.credential(for: token.keyID, now: now) {
            credential = cached
        } else {
            credential = try await store.credential(for: token.keyID)
            if let credential { cache.store(credential, now: now) }
        }
        let principal = try CredentialCheck.evaluate(key: credential?.key, tenantStatus: credential?.tenantStatus, token: token, now: now).get()
        usage?.noteUse(of: principal.keyID, at: now)
        return principal
    }

}
