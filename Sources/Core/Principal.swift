/// Who is calling: the authenticated API key and what it may do.
public struct Principal: Sendable, Equatable {
    /// Whom the key acts for.
    public enum Kind: Sendable, Equatable {
        /// A platform administrator.
        case `operator`
        /// A tenant's key: confined to the tenant.
        case tenant(TenantScope)
    }

    public let keyID: APIKeyID
    public let kind: Kind
    public let scopes: Set<Scope>
    public let serviceIdentityID: ServiceIdentityID?

    public init(keyID: APIKeyID, kind: Kind, scopes: Set<Scope>, serviceIdentityID: ServiceIdentityID?) {
        self.keyID = keyID
        self.kind = kind
        self.scopes = scopes
        self.serviceIdentityID = serviceIdentityID
    }

    /// The tenant a tenant key is confined to; `nil` for operators.
    public var tenantScope: TenantScope? {
        if case .tenant(let scope) = kind { return scope }
        return nil
    }

    /// Throws `forbidden` unless the principal is an operator.
    public func requireOperator() throws(TallyError) {
        guard case .operator = kind else { throw TallyError(.forbidden, "this route needs an operator key") }
    }

    /// The tenant scope, after checking the key carries `scope`; throws `forbidden` for
    /// operator keys (which name a tenant in the path instead) and for missing scopes.
    public func requireTenant(_ scope: Scope) throws(TallyError) -> TenantScope {
        guard let tenant = tenantScope else {
            throw TallyError(.forbidden, "this route needs a tenant key; operators use /v1/tenants/{id}/…")
        }
        guard scopes.contains(scope) else {
            throw TallyError(.forbidden, "this key lacks the '\(scope.rawValue)' scope")
        }
        return tenant
    }
}
