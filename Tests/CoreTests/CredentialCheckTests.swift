import Core
import Foundation
import Testing

@Suite struct CredentialCheckTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func key(tenant: TenantID?, revoked: Date? = nil, expires: Date? = nil) -> (APIKey, APIKeyToken) {
        let id = APIKeyID.generate()
        let token = APIKeyToken.generate(keyID: id)
        let key = APIKey(
            id: id, tenantID: tenant, serviceIdentityID: nil, name: "k", displayPrefix: token.displayPrefix, digest: token.digest,
            scopes: tenant == nil ? [.operator] : Scope.tenantDefaults, createdAt: now, revokedAt: revoked, expiresAt: expires
        )
        return (key, token)
    }

    @Test func activeTenantKeyYieldsATenantPrincipal() throws {
        let tenant = TenantID.generate()
        let (stored, token) = key(tenant: tenant)
        let principal = try CredentialCheck.evaluate(key: stored, tenantStatus: .active, token: token, now: now).get()
        #expect(principal.tenantScope?.tenantID == tenant)
        #expect(principal.scopes == Set(Scope.tenantDefaults))
    }

    @Test func operatorKeyYieldsAnOperator() throws {
        let (stored, token) = key(tenant: nil)
        let principal = try CredentialCheck.evaluate(key: stored, tenantStatus: nil, token: token, now: now).get()
        #expect(principal.kind == .operator)
    }

    @Test func eachFailureHasItsCode() {
        let tenant = TenantID.generate()
        func code(_ result: Result<Principal, TallyError>) -> String? {
            if case .failure(let error) = result { return error.code.rawValue }
            return nil
        }
        let (stored, token) = key(tenant: tenant)
        let other = APIKeyToken.generate(keyID: stored.id)  // right id, wrong secret
        #expect(code(CredentialCheck.evaluate(key: nil, tenantStatus: nil, token: token, now: now)) == "invalid_api_key")
        #expect(code(CredentialCheck.evaluate(key: stored, tenantStatus: .active, token: other, now: now)) == "invalid_api_key")
        let (revoked, revokedToken) = key(tenant: tenant, revoked: now)
        #expect(code(CredentialCheck.evaluate(key: revoked, tenantStatus: .active, token: revokedToken, now: now)) == "api_key_revoked")
        let (expired, expiredToken) = key(tenant: tenant, expires: now)
        #expect(code(CredentialCheck.evaluate(key: expired, tenantStatus: .active, token: expiredToken, now: now)) == "api_key_expired")
        #expect(code(CredentialCheck.evaluate(key: stored, tenantStatus: .suspended, token: token, now: now)) == "tenant_suspended")
        #expect(code(CredentialCheck.evaluate(key: stored, tenantStatus: .deleted, token: token, now: now)) == "tenant_deleted")
    }

    @Test func scopeChecks() throws {
        let scope = TenantScope(credentialTenant: .generate())
        let reader = Principal(keyID: .generate(), kind: .tenant(scope), scopes: [.keysRead], serviceIdentityID: nil)
        #expect(try reader.requireTenant(.keysRead) == scope)
        #expect(throws: TallyError.self) { try reader.requireTenant(.keysWrite) }
        #expect(throws: TallyError.self) { try reader.requireOperator() }
        let op = Principal(keyID: .generate(), kind: .operator, scopes: [.operator], serviceIdentityID: nil)
        #expect(throws: TallyError.self) { try op.requireTenant(.keysRead) }
    }

    @Test func tenantStatusTransitions() {
        #expect(TenantStatus.active.canTransition(to: .suspended))
        #expect(TenantStatus.suspended.canTransition(to: .active))
        #expect(TenantStatus.active.canTransition(to: .deleted))
        #expect(!TenantStatus.deleted.canTransition(to: .active))
        #expect(!TenantStatus.deleted.canTransition(to: .suspended))
        #expect(TenantStatus.deleted.canTransition(to: .deleted))
    }

    @Test func tenantRules() {
        #expect(throws: Never.self) { try TenantRules.validateSlug("acme-corp") }
        for bad in ["a", "-acme", "Acme", "acme corp", "acme_corp", String(repeating: "a", count: 64)] {
            #expect(throws: TallyError.self) { try TenantRules.validateSlug(bad) }
        }
        #expect(throws: TallyError.self) { try TenantRules.validateName("   ") }
        #expect(throws: TallyError.self) { try TenantRules.validateName("bad\u{7}name") }
        #expect(throws: TallyError.self) { try TenantRules.validateName("bad\u{85}name") }
        #expect(throws: TallyError.self) { try TenantRules.validateName(String(repeating: "é", count: 200) + " ") }
        #expect(throws: Never.self) { try TenantRules.validateName(" Acme, Inc. ") }
        #expect(throws: Never.self) { try TenantRules.validateName(String(repeating: "😀", count: 200)) }
    }
}
