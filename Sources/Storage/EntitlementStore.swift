import Core
import Entitlements
import Metering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The feature catalog, plans, tenants' entitlement assignments, grants and sent threshold
/// notifications, behind one driver protocol. Features and plans are platform-wide (every
/// tenant may read them; operators change them); the rest is tenant-owned and scoped.
public protocol EntitlementStore: Sendable {
    // MARK: Features

    /// Adds a feature; `conflict` (field `key`) when the key is taken.
    func insertFeature(_ feature: Feature, at: Date) async throws
    /// Every feature, by key.
    func features() async throws -> [Feature]
    func feature(key: String) async throws -> Feature?

    // MARK: Plans

    /// Adds a plan; `conflict` (field `key`) when the key is taken.
    func insertPlan(_ plan: Plan, at: Date) async throws
    /// Replaces a plan's name, entitlements and rate limits; `false` when there is no such plan.
    func updatePlan(_ plan: Plan, at: Date) async throws -> Bool
    /// Every plan, by key.
    func plans() async throws -> [Plan]
    func plan(key: String) async throws -> Plan?

    // MARK: Tenants' entitlements

    /// The tenant's plan and overrides; `nil` when none were ever set.
    func tenantEntitlements(in scope: TenantScope) async throws -> TenantEntitlements?
    /// Sets them; `validation_failed` (field `plan`) when the plan does not exist.
    func setTenantEntitlements(_ entitlements: TenantEntitlements, in scope: TenantScope, at: Date) async throws

    // MARK: Grants

    /// Adds a grant; `validation_failed` (field `feature`) when the feature does not exist.
    func insertGrant(_ grant: GrantDefinition, in scope: TenantScope, at: Date) async throws
    /// The tenant's grants, voided ones included, oldest first.
    func grants(in scope: TenantScope) async throws -> [GrantDefinition]
    /// Voids a grant (once: voiding again keeps the first time); `nil` when the tenant has no such grant.
    func voidGrant(_ id: String, in scope: TenantScope, at: Int64) async throws -> GrantDefinition?

    // MARK: Threshold notifications

    /// Records crossings not recorded before and returns those (each feature, period and
    /// threshold is recorded once, however many nodes or requests cross it).
    func recordCrossings(_ crossings: [QuotaBook.ThresholdCrossing], in scope: TenantScope, at: Date) async throws -> [QuotaBook.ThresholdCrossing]
    /// The tenant's recorded notifications, newest first.
    func thresholdNotifications(in scope: TenantScope, limit: Int) async throws -> [ThresholdNotification]
}

/// A threshold crossing as recorded.
public struct ThresholdNotification: Sendable, Equatable {
    public var crossing: QuotaBook.ThresholdCrossing
    public var createdAt: Date

    public init(crossing: QuotaBook.ThresholdCrossing, createdAt: Date) {
        self.crossing = crossing
        self.createdAt = createdAt
    }
}

/// How both drivers read and write entitlement rows.
enum StoredEntitlements {
    static func feature(key: String, name: String, kind: String, meter: String?) throws -> Feature {
        guard let kind = Feature.Kind(rawValue: kind) else { throw StorageDecodingError(column: "kind") }
        return Feature(key: key, name: name, kind: kind, meter: meter)
    }

    static func plan(key: String, name: String, entitlements: String, rateLimits: String) throws -> Plan {
        do {
            return Plan(
                key: key, name: name,
                entitlements: try Plan.parseEntitlements(try JSONParser.parse(entitlements.utf8), field: "entitlements"),
                rateLimits: try TenantRateLimits.parse(section: try JSONParser.parse(rateLimits.utf8), field: "rate_limits")
            )
        } catch {
            throw StorageDecodingError(column: "entitlements")
        }
    }

    static func json(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }

    static func assignment(plan: String?, overrides: String, anchor: Int64) throws -> TenantEntitlements {
        do {
            return try TenantEntitlements.parse(
                ["overrides": try JSONParser.parse(overrides.utf8)], current: TenantEntitlements(plan: plan, anchor: anchor)
            )
        } catch {
            throw StorageDecodingError(column: "overrides")
        }
    }

    static func quantity(_ text: String, column: String) throws -> Quantity {
        guard let value = Quantity(stored: text) else { throw StorageDecodingError(column: column) }
        return value
    }

    static let grantColumns = "id, feature, amount, priority, effective_at, expires_at, recurring, rollover_cap, reason, voided_at"
    static let notificationColumns = "feature, period_start, threshold, used, quota, created_at"

    static func unknownPlan(_ plan: String?) -> TallyError {
        TallyError.validation("plan", "there is no plan '\(plan ?? "")'")
    }

    static func unknownFeature(_ feature: String) -> TallyError {
        TallyError.validation("feature", "there is no feature '\(feature)'")
    }
}
