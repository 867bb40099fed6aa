import Actors
import Core
import Entitlements
import Metering
import Storage

/// What creating a tenant takes.
public struct NewTenant: Sendable, Equatable, Decodable {
    public var slug: String
    public var name: String
    public var settings: [String: JSONValue]?

    public init(slug: String, name: String, settings: [String: JSONValue]? = nil) {
        self.slug = slug
        self.name = name
        self.settings = settings
    }
}

/// Tenant lifecycle: create, read, list, rename, reconfigure, suspend, resume, delete. Operator-only.
public struct TenantService: Sendable {
    let store: any PlatformStore
    let clock: any TallyClock
    let cache: CredentialCache
    let directory: TenantDirectory

    /// Creates an active tenant; `conflict` when the slug is taken.
    public func create(_ input: NewTenant) async throws -> Tenant {
        try TenantRules.validateSlug(input.slug)
        try TenantRules.validateName(input.name)
        try Self.validateSettings(input.settings ?? [:])
        let now = clock.now()
        let tenant = Tenant(
            id: .generate(at: now), slug: input.slug, name: input.name.trimmingWhitespace(), status: .active,
            settings: input.settings ?? [:], createdAt: now, updatedAt: now
        )
        try await store.insertTenant(tenant)
        return tenant
    }

    /// The tenant, or `not_found`.
    public func get(_ id: TenantID) async throws -> Tenant {
        guard let tenant = try await store.tenant(id: id) else { throw TallyError.notFound("tenant") }
        return tenant
    }

    /// Looks a tenant up by id or slug, as the CLI lets operators type either.
    public func find(_ idOrSlug: String) async throws -> Tenant {
        if let id = TenantID(idOrSlug), let tenant = try await store.tenant(id: id) { return tenant }
        guard let tenant = try await store.tenant(slug: idOrSlug) else { throw TallyError.notFound("tenant '\(idOrSlug)'") }
        return tenant
    }

    public func list(_ page: PageRequest) async throws -> Page<Tenant> {
        try await store.listTenants(page)
    }

    /// Applies a change after validating it; a status change must be an allowed transition.
    public func update(_ id: TenantID, _ change: TenantChange) async throws -> Tenant {
        if let name = change.name { try TenantRules.validateName(name) }
        if let settings = change.settings { try Self.validateSettings(settings) }
        var change = change
        change.name = change.name?.trimmingWhitespace()
        // Optimistic: the update applies only if the status is still the one validated against.
        for _ in 0..<3 {
            let current = try await get(id)
            if let next = change.status, !current.status.canTransition(to: next) {
                throw TallyError(.conflict, "a \(current.status.rawValue) tenant cannot become \(next.rawValue)", field: "status")
            }
            if let updated = try await store.updateTenant(id, expectedStatus: current.status, change: change, at: clock.now()) {
                if updated.status != current.status { cache.invalidate(tenant: id) }
                await directory.invalidate(id)
                return updated
            }
        }
        throw TallyError(.conflict, "the tenant changed concurrently; retry the request")
    }

    /// The sections of a tenant's settings that Tally reads (`metering`, `rate_limits`) must be valid.
    static func validateSettings(_ settings: [String: JSONValue]) throws(TallyError) {
        _ = try TenantMeteringSettings.policy(from: settings)
        _ = try TenantRateLimits.parse(settings)
    }
}
