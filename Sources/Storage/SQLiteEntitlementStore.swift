import Core
import Entitlements
import Metering
import SQLiteNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Features, plans, tenants' entitlements, grants and threshold notifications in the SQLite file.
public struct SQLiteEntitlementStore: EntitlementStore {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    static func isUniqueViolation(_ error: SQLiteError) -> Bool {
        error.reason == .constraintPrimaryKeyFailed || error.reason == .constraintUniqueFailed
    }

    // MARK: Features

    public func insertFeature(_ feature: Feature, at: Date) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO features (key, name, kind, meter, created_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(feature.key), .text(feature.name), .text(feature.kind.rawValue), feature.meter.map { .text($0) } ?? .null, Optional(at).sqliteData]
                )
            }
        } catch let error as SQLiteError where Self.isUniqueViolation(error) {
            throw TallyError(.conflict, "a feature with key '\(feature.key)' already exists", field: "key")
        }
    }

    public func features() async throws -> [Feature] {
        try await readFeatures("SELECT key, name, kind, meter FROM features ORDER BY key", [])
    }

    public func feature(key: String) async throws -> Feature? {
        try await readFeatures("SELECT key, name, kind, meter FROM features WHERE key = ?", [.text(key)]).first
    }

    private func readFeatures(_ sql: String, _ binds: [SQLiteData]) async throws -> [Feature] {
        try await database.read(sql, binds).map { row in
            try StoredEntitlements.feature(key: try row.text("key"), name: try row.text("name"), kind: try row.text("kind"), meter: row.optionalText("meter"))
        }
    }

    // MARK: Plans

    public func insertPlan(_ plan: Plan, at: Date) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO plans (key, name, entitlements, rate_limits, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [.text(plan.key), .text(plan.name), .text(StoredEntitlements.json(.object(plan.entitlements.mapValues(\.json)))),
                     .text(StoredEntitlements.json(plan.rateLimits.json)), Optional(at).sqliteData, Optional(at).sqliteData]
                )
            }
        } catch let error as SQLiteError where Self.isUniqueViolation(error) {
            throw TallyError(.conflict, "a plan with key '\(plan.key)' already exists", field: "key")
        }
    }

    public func updatePlan(_ plan: Plan, at: Date) async throws -> Bool {
        try await database.transaction { db in
            let rows = try await db.query(
                "UPDATE plans SET name = ?, entitlements = ?, rate_limits = ?, updated_at = ? WHERE key = ? RETURNING key",
                [.text(plan.name), .text(StoredEntitlements.json(.object(plan.entitlements.mapValues(\.json)))),
                 .text(StoredEntitlements.json(plan.rateLimits.json)), Optional(at).sqliteData, .text(plan.key)]
            )
            return !rows.isEmpty
        }
    }

    public func plans() async throws -> [Plan] {
        try await readPlans("SELECT key, name, entitlements, rate_limits FROM plans ORDER BY key", [])
    }

    public func plan(key: String) async throws -> Plan? {
        try await readPlans("SELECT key, name, entitlements, rate_limits FROM plans WHERE key = ?", [.text(key)]).first
    }

    private func readPlans(_ sql: String, _ binds: [SQLiteData]) async throws -> [Plan] {
        try await database.read(sql, binds).map { row in
            try StoredEntitlements.plan(
                key: try row.text("key"), name: try row.text("name"), entitlements: try row.text("entitlements"), rateLimits: try row.text("rate_limits")
            )
        }
    }

    // MARK: Tenants' entitlements

    public func tenantEntitlements(in scope: TenantScope) async throws -> TenantEntitlements? {
        try await database.read(
            "SELECT plan, overrides, anchor FROM tenant_entitlements WHERE tenant_id = ?", [.text(scope.tenantID.rawValue)]
        ).first.map { row in
            try StoredEntitlements.assignment(plan: row.optionalText("plan"), overrides: try row.text("overrides"), anchor: Int64(try row.int("anchor")))
        }
    }

    public func setTenantEntitlements(_ entitlements: TenantEntitlements, in scope: TenantScope, at: Date) async throws {
        try await database.transaction { db in
            if let plan = entitlements.plan, try await db.query("SELECT 1 FROM plans WHERE key = ?", [.text(plan)]).isEmpty {
                throw StoredEntitlements.unknownPlan(plan)
            }
            guard try await !db.query("SELECT 1 FROM tenants WHERE id = ?", [.text(scope.tenantID.rawValue)]).isEmpty else {
                throw TallyError.notFound("tenant")
            }
            _ = try await db.query(
                """
                INSERT INTO tenant_entitlements (tenant_id, plan, overrides, anchor, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (tenant_id) DO UPDATE SET plan = excluded.plan, overrides = excluded.overrides,
                    anchor = excluded.anchor, updated_at = excluded.updated_at
                """,
                [.text(scope.tenantID.rawValue), entitlements.plan.map { .text($0) } ?? .null,
                 .text(StoredEntitlements.json(entitlements.overridesJSON)), .integer(Int(entitlements.anchor)), Optional(at).sqliteData]
            )
        }
    }

    // MARK: Grants

    public func insertGrant(_ grant: GrantDefinition, in scope: TenantScope, at: Date) async throws {
        try await database.transaction { db in
            guard try await !db.query("SELECT 1 FROM features WHERE key = ?", [.text(grant.feature)]).isEmpty else {
                throw StoredEntitlements.unknownFeature(grant.feature)
            }
            guard try await !db.query("SELECT 1 FROM tenants WHERE id = ?", [.text(scope.tenantID.rawValue)]).isEmpty else {
                throw TallyError.notFound("tenant")
            }
            _ = try await db.query(
                """
                INSERT INTO grants (id, tenant_id, feature, amount, priority, effective_at, expires_at, recurring, rollover_cap, reason, voided_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                """,
                [.text(grant.id), .text(scope.tenantID.rawValue), .text(grant.feature), .text(grant.amount.description), .integer(grant.priority),
                 .integer(Int(grant.effectiveAt)), grant.expiresAt.map { .integer(Int($0)) } ?? .null, .integer(grant.recurring ? 1 : 0),
                 .text(grant.rolloverCap.description), grant.reason.map { .text($0) } ?? .null, Optional(at).sqliteData]
            )
        }
    }

    public func grants(in scope: TenantScope) async throws -> [GrantDefinition] {
        try await readGrants("WHERE tenant_id = ? ORDER BY id", [.text(scope.tenantID.rawValue)])
    }

    public func voidGrant(_ id: String, in scope: TenantScope, at: Int64) async throws -> GrantDefinition? {
        try await database.transaction { db in
            _ = try await db.query(
                "UPDATE grants SET voided_at = COALESCE(voided_at, ?) WHERE tenant_id = ? AND id = ?",
                [.integer(Int(at)), .text(scope.tenantID.rawValue), .text(id)]
            )
        }
        return try await readGrants("WHERE tenant_id = ? AND id = ?", [.text(scope.tenantID.rawValue), .text(id)]).first
    }

    private func readGrants(_ filter: String, _ binds: [SQLiteData]) async throws -> [GrantDefinition] {
        try await database.read("SELECT \(StoredEntitlements.grantColumns) FROM grants \(filter)", binds).map { row in
            GrantDefinition(
                id: try row.text("id"), feature: try row.text("feature"),
                amount: try StoredEntitlements.quantity(try row.text("amount"), column: "amount"), priority: try row.int("priority"),
                effectiveAt: Int64(try row.int("effective_at")), expiresAt: row.column("expires_at")?.integer.map(Int64.init),
                recurring: try row.int("recurring") != 0,
                rolloverCap: try StoredEntitlements.quantity(try row.text("rollover_cap"), column: "rollover_cap"),
                reason: row.optionalText("reason"), voidedAt: row.column("voided_at")?.integer.map(Int64.init)
            )
        }
    }

    // MARK: Threshold notifications

    public func recordCrossings(_ crossings: [QuotaBook.ThresholdCrossing], in scope: TenantScope, at: Date) async throws -> [QuotaBook.ThresholdCrossing] {
        guard !crossings.isEmpty else { return [] }
        return try await database.transaction { db in
            var recorded: [QuotaBook.ThresholdCrossing] = []
            for crossing in crossings {
                let rows = try await db.query(
                    """
                    INSERT INTO threshold_notifications (tenant_id, feature, period_start, threshold, used, quota, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING threshold
                    """,
                    [.text(scope.tenantID.rawValue), .text(crossing.feature), .integer(Int(crossing.periodStart)), .integer(crossing.threshold),
                     .text(crossing.used.description), .text(crossing.limit.description), Optional(at).sqliteData]
                )
                if !rows.isEmpty { recorded.append(crossing) }
            }
            return recorded
        }
    }

    public func thresholdNotifications(in scope: TenantScope, limit: Int) async throws -> [ThresholdNotification] {
        try await database.read(
            """
            SELECT \(StoredEntitlements.notificationColumns) FROM threshold_notifications WHERE tenant_id = ?
            ORDER BY created_at DESC, feature, threshold LIMIT ?
            """,
            [.text(scope.tenantID.rawValue), .integer(limit)]
        ).map { row in
            ThresholdNotification(
                crossing: QuotaBook.ThresholdCrossing(
                    feature: try row.text("feature"), periodStart: Int64(try row.int("period_start")), threshold: try row.int("threshold"),
                    used: try StoredEntitlements.quantity(try row.text("used"), column: "used"),
                    limit: try StoredEntitlements.quantity(try row.text("quota"), column: "quota")
                ),
                createdAt: try row.date("created_at")
            )
        }
    }
}
