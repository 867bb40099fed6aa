#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The pure decision of authentication: given the stored key, its tenant's status and the
/// presented token, who is calling, or which documented error answers.
public enum CredentialCheck {
    /// - Parameters:
    ///   - key: the stored key found by the token's key id, or `nil`.
    ///   - tenantStatus: that key's tenant status (`nil` for operator keys).
    ///   - token: the presented token (already parsed).
    public static func evaluate(key: APIKey?, tenantStatus: TenantStatus?, token: APIKeyToken, now: Date) -> Result<Principal, TallyError> {
        guard let key, token.matches(digest: key.digest) else {
            return .failure(TallyError(.invalidAPIKey, "the API key is not valid"))
        }
        if key.revokedAt != nil {
            return .failure(TallyError(.apiKeyRevoked, "the API key has been revoked"))
        }
        if let expiresAt = key.expiresAt, expiresAt <= now {
            return .failure(TallyError(.apiKeyExpired, "the API key expired"))
        }
        guard let tenantID = key.tenantID else {
            return .success(Principal(keyID: key.id, kind: .operator, scopes: Set(key.scopes), serviceIdentityID: nil))
        }
        switch tenantStatus {
        case .active:
            return .success(Principal(
                keyID: key.id, kind: .tenant(TenantScope(credentialTenant: tenantID)), scopes: Set(key.scopes),
                serviceIdentityID: key.serviceIdentityID
            ))
        case .suspended:
            return .failure(TallyError(.tenantSuspended, "the tenant is suspended; contact the platform operator"))
        case .deleted, nil:
            return .failure(TallyError(.tenantDeleted, "the tenant has been deleted"))
        }
    }
}
