import Core
import Entitlements
import Metering
import Logging
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Features, plans, tenants' entitlements, grants and threshold notifications on PostgreSQL.
public struct PostgresEntitlementStore: EntitlementStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static func isUniqueViolation(_ error: PSQLError) -> Bool { error.serverInfo?[.sqlState] == "23505" }
    static func isForeignKeyViolation(_ error: PSQLError) -> Bool { error.serverInfo?[.sqlState] == "23503" }

    // MARK: Features

    public func insertFeature(_ feature: Feature, at: Date) async throws {
        do {
            try await client.query(
                "INSERT INTO features (key, name, kind, meter, created_at) VALUES (\(feature.key), \(feature.name), \(feature.kind.rawValue), \(feature.meter), \(at))",
                logger: logger
            )
        } catch let error as PSQLError where Self.isUniqueViolation(error) {
            throw TallyError(.conflict, "a feature with key '\(feature.key)' already exists", field: "key")
        }
    }

    public func features() async throws -> [Feature] {
        try await readFeatures("SELECT key, name, kind, meter FROM features ORDER BY key")
    }

    public func feature(key: String) async throws -> Feature? {
        try await readFeatures("SELECT key, name, kind, meter FROM features WHERE key = \(key)").first
    }

    private func readFeatures(_ query: PostgresQuery) async throws -> [Feature] {
        try await client.query(query, logger: logger).collect().map { row in
            let (key, name, kind, meter) = try row.decode((String, String, String, String?).self)
            return try StoredEntitlements.feature(key: key, name: name, kind: kind, meter: meter)
        }
    }

    // MARK: Plans

    public func insertPlan(_ plan: Plan, at: Date) async throws {
        let entitlements = StoredEntitlements.json(.object(plan.entitlements.mapValues(\.json)))
        let limits = StoredEntitlements.json(plan.rateLimits.json)
        do {
            try await client.query(
                """
                INSERT INTO plans (key, name, entitlements, rate_limits, created_at, updated_at)
                VALUES (\(plan.key), \(plan.name), \(entitlements)::jsonb, \(limits)::jsonb, \(at), \(at))
                """,
                logger: logger
            )
        } catch let error as PSQLError where Self.isUniqueViolation(error) {
            throw TallyError(.conflict, "a plan with key '\(plan.key)' already exists", field: "key")
        }
    }

    public func updatePlan(_ plan: Plan, at: Date) async throws -> Bool {
        let entitlements = StoredEntitlements.json(.object(plan.entitlements.mapValues(\.json)))
        let limits = StoredEntitlements.json(plan.rateLimits.json)
        let rows = try await client.query(
            """
            UPDATE plans SET name = \(plan.name), entitlements = \(entitlements)::jsonb, rate_limits = \(limits)::jsonb, updated_at = \(at)
            WHERE key = \(plan.key) RETURNING key
            """,
            logger: logger
        ).collect()
        return !rows.isEmpty
    }

    public func plans() async throws -> [Plan] {
        try await readPlans("SELECT key, name, entitlements::text, rate_limits::text FROM plans ORDER BY key")
    }

    public func plan(key: String) async throws -> Plan? {
        try await readPlans("SELECT key, name, entitlements::text, rate_limits::text FROM plans WHERE key = \(key)").first
    }

    private func readPlans(_ query: PostgresQuery) async throws -> [Plan] {
        try await client.query(query, logger: logger).collect().map { row in
            let (key, name, entitlements, limits) = try row.decode((String, String, String, String).self)
            return try StoredEntitlements.plan(key: key, name: name, entitlements: entitlements, rateLimits: limits)
        }
    }

    // MARK: Tenants' entitlements

    public func tenantEntitlements(in scope: TenantScope) async throws -> TenantEntitlements? {
        let rows = try await client.query(
            "SELECT plan, overrides::text, anchor FROM tenant_entitlements WHERE tenant_id = \(scope.tenantID.rawValue)", logger: logger
        ).collect()
        return try rows.first.map { row in
            let (plan, overrides, anchor) = try row.decode((String?, String, Int64).self)
            return try StoredEntitlements.assignment(plan: plan, overrides: overrides, anchor: anchor)
        }
    }

    public func setTenantEntitlements(_ entitlements: TenantEntitlements, in scope: TenantScope, at: Date) async throws {
        let overrides = StoredEntitlements.json(entitlements.overridesJSON)
        do {
            try await client.query(
                """
                INSERT INTO tenant_entitlements (tenant_id, plan, overrides, anchor, updated_at)
                VALUES (\(scope.tenantID.rawValue), \(entitlements.plan), \(overrides)::jsonb, \(entitlements.anchor), \(at))
                ON CONFLICT (tenant_id) DO UPDATE SET plan = excluded.plan, overrides = excluded.overrides,
                    anchor = excluded.anchor, updated_at = excluded.updated_at
                """,
                logger: logger
            )
        } catch let error as PSQLError where Self.isForeignKeyViolation(error) {
            if error.serverInfo?[.message]?.contains("plan") == true { throw StoredEntitlements.unknownPlan(entitlements.plan) }
            throw TallyError.notFound("tenant")
        }
    }

    // MARK: Grants

    public func insertGrant(_ grant: GrantDefinition, in scope: TenantScope, at: Date) async throws {
        do {
            try await client.query(
                """
                INSERT INTO grants (id, tenant_id, feature, amount, priority, effective_at, expires_at, recurring, rollover_cap, reason, voided_at, created_at)
                VALUES (\(grant.id), \(scope.tenantID.rawValue), \(grant.feature), \(grant.amount.description)::numeric, \(grant.priority),
                        \(grant.effectiveAt), \(grant.expiresAt), \(grant.recurring), \(grant.rolloverCap.description)::numeric, \(grant.reason),
                        NULL, \(at))
                """,
                logger: logger
            )
        } catch let error as PSQLError where Self.isForeignKeyViolation(error) {
            if error.serverInfo?[.message]?.contains("feature") == true { throw StoredEntitlements.unknownFeature(grant.feature) }
            throw TallyError.notFound("tenant")
        }
    }

    public func grants(in scope: TenantScope) async throws -> [GrantDefinition] {
        try await readGrants("WHERE tenant_id = \(scope.tenantID.rawValue) ORDER BY id")
    }

    public func voidGrant(_ id: String, in scope: TenantScope, at: Int64) async throws -> GrantDefinition? {
        try await client.query(
            "UPDATE grants SET voided_at = COALESCE(voided_at, \(at)) WHERE tenant_id = \(scope.tenantID.rawValue) AND id = \(id)", logger: logger
        )
        return try await readGrants("WHERE tenant_id = \(scope.tenantID.rawValue) AND id = \(id)").first
    }

    private func readGrants(_ filter: PostgresQuery) async throws -> [GrantDefinition] {
        var query = PostgresQuery(
            unsafeSQL: "SELECT id, feature, amount::text, priority, effective_at, expires_at, recurring, rollover_cap::text, reason, voided_at FROM grants "
        )
        query.sql += filter.sql
        query.binds = filter.binds
        return try await client.query(query, logger: logger).collect().map { row in
            let (id, feature, amount, priority, effective, expires, recurring, cap, reason, voided) =
                try row.decode((String, String, String, Int, Int64, Int64?, Bool, String, String?, Int64?).self)
            return GrantDefinition(
                id: id, feature: feature, amount: try StoredEntitlements.quantity(amount, column: "amount"), priority: priority,
                effectiveAt: effective, expiresAt: expires, recurring: recurring,
                rolloverCap: try StoredEntitlements.quantity(cap, column: "rollover_cap"), reason: reason, voidedAt: voided
            )
        }
    }

    // MARK: Threshold notifications

    public func recordCrossings(_ crossings: [QuotaBook.ThresholdCrossing], in scope: TenantScope, at: Date) async throws -> [QuotaBook.ThresholdCrossing] {
        var recorded: [QuotaBook.ThresholdCrossing] = []
        for crossing in crossings {
            let rows = try await client.query(
                """
                INSERT INTO threshold_notifications (tenant_id, feature, period_start, threshold, used, quota, created_at)
                VALUES (\(scope.tenantID.rawValue), \(crossing.feature), \(crossing.periodStart), \(crossing.threshold),
                        \(crossing.used.description)::numeric, \(crossing.limit.description)::numeric, \(at))
                ON CONFLICT DO NOTHING RETURNING threshold
                """,
                logger: logger
            ).collect()
            if !rows.isEmpty { recorded.append(crossing) }
        }
        return recorded
    }

    public func thresholdNotifications(in scope: TenantScope, limit: Int) async throws -> [ThresholdNotification] {
        try await client.query(
            """
            SELECT feature, period_start, threshold, used::text, quota::text, created_at FROM threshold_notifications
            WHERE tenant_id = \(scope.tenantID.rawValue) ORDER BY created_at DESC, feature, threshold LIMIT \(limit)
            """,
            logger: logger
        ).collect().map { row in
            let (feature, start, threshold, used, quota, created) = try row.decode((String, Int64, Int, String, String, Date).self)
            return ThresholdNotification(
                crossing: QuotaBook.ThresholdCrossing(
                    feature: feature, periodStart: start, threshold: threshold,
                    used: try StoredEntitlements.quantity(used, column: "used"), limit: try StoredEntitlements.quantity(quota, column: "quota")
                ),
                createdAt: created
            )
        }
    }
}
