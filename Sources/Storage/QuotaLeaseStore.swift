import Core
import Metering

/// Where nodes lease blocks of a tenant's hard limit, so that several `tally serve` processes
/// together never book more than the limit plus one block: each node spends only quota it
/// holds, reports what it booked when it renews, gives back the rest when it stops, and a dead
/// node's lease expires.
public protocol QuotaLeaseStore: Sendable {
    /// Sets this node's holding for one feature's period: reports `report` as booked (moving it
    /// out of the holding), then asks for the holding to be `keep + want`, and returns how much
    /// it changed from `keep` (`want` or less when quota is short; negative when the pool
    /// cannot even cover `keep` any more, as after a lowered limit). The pool starts at `seed`
    /// booked (the ledger's usage) the first time the period is seen.
    func adjust(_ key: QuotaLeaseKey, node: String, keep: Quantity, want: Quantity, report: Quantity, limit: Quantity, seed: Quantity, ttl: Duration) async throws -> Quantity
    /// Reports `report` as booked and gives the rest of this node's holding back.
    func release(_ key: QuotaLeaseKey, node: String, report: Quantity) async throws
}

/// One pool: a tenant's feature in one period.
public struct QuotaLeaseKey: Sendable, Hashable {
    public var tenantID: TenantID
    public var feature: String
    public var periodStart: Int64
    /// Unix seconds after which the pool may be forgotten.
    public var periodEnd: Int64

    public init(tenantID: TenantID, feature: String, periodStart: Int64, periodEnd: Int64) {
        self.tenantID = tenantID
        self.feature = feature
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }
}
