import Core
import Metering

/// A tenant on one version of a plan's prices: its state, the period being billed now, and
/// what is set to happen at that period's end (a plan change, cancellation). The billing run
/// invoices `[periodStart, periodEnd)` once `periodEnd` has passed, then moves to the next
/// period, or closes the subscription when it has ended.
public struct Subscription: Sendable, Equatable {
    /// A plan version a subscription is on or is set to move to.
    public struct PlanRef: Sendable, Hashable {
        public var key: String
        public var version: Int

        public init(key: String, version: Int) {
            self.key = key
            self.version = version
        }
    }

    public var id: SubscriptionID
    public var tenantID: TenantID
    public var plan: PlanRef
    public var state: SubscriptionState
    /// Where periods are counted from (Unix seconds), in `timeZone`.
    public var anchor: Int64
    /// An IANA zone name; periods start at the same local day and time each interval.
    public var timeZone: String
    public var trialEnd: Int64?
    /// The period the next invoice covers. During a trial, the trial itself.
    public var periodStart: Int64
    public var periodEnd: Int64
    public var cancelAtPeriodEnd: Bool
    /// A plan change set for the end of the current period.
    public var pendingPlan: PlanRef?
    /// When the subscription was canceled or expired.
    public var endedAt: Int64?
    /// Every period is invoiced; the billing run has nothing more to do.
    public var closed: Bool
    /// How many periods were invoiced so far (the first has no earlier period to adjust).
    public var invoicedPeriods: Int
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Bumped by every write; writes name the revision they read (optimistic concurrency).
    public var revision: Int

    public init(
        id: SubscriptionID, tenantID: TenantID, plan: PlanRef, state: SubscriptionState, anchor: Int64, timeZone: String, trialEnd: Int64?,
        periodStart: Int64, periodEnd: Int64, cancelAtPeriodEnd: Bool = false, pendingPlan: PlanRef? = nil, endedAt: Int64? = nil,
        closed: Bool = false, invoicedPeriods: Int = 0, createdAt: Int64, updatedAt: Int64, revision: Int = 1
    ) {
        self.id = id
        self.tenantID = tenantID
        self.plan = plan
        self.state = state
        self.anchor = anchor
        self.timeZone = timeZone
        self.trialEnd = trialEnd
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.cancelAtPeriodEnd = cancelAtPeriodEnd
        self.pendingPlan = pendingPlan
        self.endedAt = endedAt
        self.closed = closed
        self.invoicedPeriods = invoicedPeriods
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.revision = revision
    }

    /// Whether the period being billed is the trial (trial periods are not invoiced).
    public var inTrial: Bool { trialEnd.map { periodEnd <= $0 } ?? false }

    public var json: JSONValue {
        .object([
            "id": .string(id.rawValue), "tenant_id": .string(tenantID.rawValue), "plan": .string(plan.key), "plan_version": .number(Double(plan.version)),
            "state": .string(state.rawValue), "anchor": RFC3339.json(seconds: anchor), "time_zone": .string(timeZone),
            "trial_end": RFC3339.json(seconds: trialEnd), "current_period_start": RFC3339.json(seconds: periodStart),
            "current_period_end": RFC3339.json(seconds: periodEnd), "cancel_at_period_end": .bool(cancelAtPeriodEnd),
            "pending_plan": pendingPlan.map { .string($0.key) } ?? .null,
            "pending_plan_version": pendingPlan.map { .number(Double($0.version)) } ?? .null,
            "ended_at": RFC3339.json(seconds: endedAt), "closed": .bool(closed), "invoiced_periods": .number(Double(invoicedPeriods)),
            "created_at": RFC3339.json(seconds: createdAt), "updated_at": RFC3339.json(seconds: updatedAt), "revision": .number(Double(revision)),
        ])
    }

    /// Reads `json` back; `nil` for a document this module did not write.
    public static func parse(stored value: JSONValue) -> Subscription? {
        guard let f = DocumentFields(value), let id = f.text("id").flatMap(SubscriptionID.init), let tenant = f.text("tenant_id").flatMap(TenantID.init),
              let planKey = f.text("plan"), let planVersion = f.int("plan_version"), let state = f.text("state").flatMap(SubscriptionState.init),
              let anchor = f.seconds("anchor"), let zone = f.text("time_zone"), let start = f.seconds("current_period_start"),
              let end = f.seconds("current_period_end"), let created = f.seconds("created_at"), let updated = f.seconds("updated_at"),
              let revision = f.int("revision") else { return nil }
        var pending: PlanRef?
        if let key = f.text("pending_plan"), let version = f.int("pending_plan_version") { pending = PlanRef(key: key, version: version) }
        return Subscription(
            id: id, tenantID: tenant, plan: PlanRef(key: planKey, version: planVersion), state: state, anchor: anchor, timeZone: zone,
            trialEnd: f.seconds("trial_end"), periodStart: start, periodEnd: end, cancelAtPeriodEnd: f.bool("cancel_at_period_end") ?? false,
            pendingPlan: pending, endedAt: f.seconds("ended_at"), closed: f.bool("closed") ?? false, invoicedPeriods: f.int("invoiced_periods") ?? 0, createdAt: created, updatedAt: updated, revision: revision
        )
    }
}
