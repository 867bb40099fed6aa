/// Proof that the caller may act inside one tenant. Every store method that touches
/// tenant-owned rows takes one, and its SQL filters by `tenantID`; the HTTP front makes a scope
/// only from the authenticated credential, so a handler cannot name another tenant's rows.
public struct TenantScope: Sendable, Hashable, CustomStringConvertible {
    /// The tenant every read and write is confined to.
    public let tenantID: TenantID

    /// The scope of a credential that belongs to `tenantID`.
    public init(credentialTenant tenantID: TenantID) { self.tenantID = tenantID }

    /// The scope an operator (platform admin) takes to act on one tenant by id.
    public init(operatorActingOn tenantID: TenantID) { self.tenantID = tenantID }

    public var description: String { tenantID.rawValue }
}
