import Core
import Metering

/// Where nodes lease blocks of a tenant's hard limit, so that several `tally serve` processes
/// together never book more than the limit plus one block: each node spends only quota it
/// holds, reports what it booked when it renews, gives back the rest when it stops, and a dead
/// node's lease expires.
public protocol QuotaLeaseStore: Sendable {
    /// Sets this node's holding for one feature's period: reports `report` as booked (moving it
    /// out of the holding; negative when corrections took booked usage back), then asks for the holding to be `keep + want`, and returns how much
    /// it changed from `keep` (`want` or less when quota is short; negative when the pool
    /// cannot even cover `keep` any more, as after a lowered limit). The pool starts at `seed`
    /// booked (the ledger's usage) the first time the period is seen.
    func adjust(_ request: QuotaLeaseRequest) async throws -> Quantity
    /// Reports `report` (signed, as in `adjust`) as booked and gives the rest of this node's
    /// holding back.
    func release(_ request: QuotaLeaseRequest) async throws
}

/// One node's call on one pool.
public struct QuotaLeaseRequest: Sendable, Equatable {
    public var key: QuotaLeaseKey
    public var node: String
    public var keep: Quantity
    public var want: Quantity
    public var report: Quantity
    public var limit: Quantity
    public var seed: Quantity
    public var ttl: Duration

    public init(
        key: QuotaLeaseKey, node: String, keep: Quantity = .zero, want: Quantity = .zero, report: Quantity = .zero,
        limit: Quantity = .zero, seed: Quantity = .zero, ttl: Duration = .seconds(30)
    ) {
        self.key = key
        self.node = node
        self.keep = keep
        self.want = want
        self.report = report
        self.limit = limit
        self.seed = seed
        self.ttl = ttl
    }
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
