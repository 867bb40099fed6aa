import Billing
import Core
import Entitlements
import Metering
import Storage

/// Plans' prices, tenants' billing settings and subscriptions: create, change plan (now, with
/// proration, or at period end), cancel (now or at period end). Every move is checked against
/// `SubscriptionStateMachine`, written with its audit entry, and reflected in the tenant's
/// entitlements.
public struct BillingService: Sendable {
    let context: BillingContext

    public init(context: BillingContext) {
        self.context = context
    }

    static let unknownPlan = TallyError.Code("unknown_plan", status: 422, title: "Unknown plan")

    // MARK: Prices

    /// Reads a plan's `prices` member (the plan's key and name fill in what it leaves out).
    public func parsePrices(_ value: JSONValue, key: String, name: String?) throws -> PricePlan {
        guard case .object(var fields) = value else { throw TallyError.validation("prices", "prices is an object: interval, currency, charges, …") }
        if let given = fields["key"], given != .string(key) { throw TallyError.validation("prices.key", "the prices' key is the plan's key") }
        fields["key"] = .string(key)
        if fields["name"] == nil, let name { fields["name"] = .string(name) }
        fields["version"] = nil
        return try PricePlan.parse(.object(fields), field: "prices")
    }

    /// Stores `plan` as its key's next price version, unless it equals the latest version
    /// (then that one is answered and `created` is false).
    public func addPrices(_ plan: PricePlan) async throws -> (plan: PricePlan, created: Bool) {
        if var latest = try await context.store.prices(of: plan.key, version: nil) {
            let version = latest.version
            latest.version = plan.version
            if latest == plan {
                latest.version = version
                return (latest, false)
            }
        }
        return (try await context.store.insertPrices(plan, at: context.now), true)
    }

    /// Loads price plans (`config/plans.json`): a plan key with no plan yet gets one (no
    /// entitlements), and prices that differ from the key's latest version make a new version.
    public func seed(_ plans: [PricePlan]) async throws -> (created: [String], unchanged: [String]) {
        var created: [String] = [], unchanged: [String] = []
        for plan in plans {
            if let entitlements = context.entitlements {
                do {
                    _ = try await entitlements.plan(plan.key)
                } catch let error as TallyError where error.code == .notFound {
                    _ = try await entitlements.createPlan(.object(["key": .string(plan.key), "name": .string(plan.name)]))
                }
            }
            let (stored, isNew) = try await addPrices(plan)
            if isNew { created.append("\(stored.key)@\(stored.version)") } else { unchanged.append("\(stored.key)@\(stored.version)") }
        }
        return (created, unchanged)
    }

    public func prices(of key: String, version: Int? = nil) async throws -> PricePlan? { try await context.store.prices(of: key, version: version) }
    public func priceVersions(of key: String) async throws -> [PricePlan] { try await context.store.priceVersions(of: key) }
    public func latestPrices() async throws -> [PricePlan] { try await context.store.latestPrices() }

    // MARK: Accounts

    public func account(in scope: TenantScope) async throws -> BillingAccount { try await context.store.account(in: scope) ?? BillingAccount() }

    public func setAccount(_ json: JSONValue, in scope: TenantScope) async throws -> BillingAccount {
        let next = try BillingAccount.parse(json, current: try await account(in: scope))
        try await context.store.setAccount(next, in: scope, at: context.now)
        return next
    }

    // MARK: Subscriptions

    /// What `POST /v1/subscriptions` takes: the plan (latest version unless one is named), an
    /// optional trial length overriding the plan's, and the time zone periods count in
    /// (the tenant's billing time zone by default).
    public struct CreateRequest: Sendable, Equatable {
        public var plan: String
        public var planVersion: Int?
        public var trialDays: Int?
        public var timeZone: String?

        public init(plan: String, planVersion: Int? = nil, trialDays: Int? = nil, timeZone: String? = nil) {
            self.plan = plan
            self.planVersion = planVersion
            self.trialDays = trialDays
            self.timeZone = timeZone
        }

        /// Reads the body; `tenant_id` is the route's business and is allowed through.
        public static func parse(_ value: JSONValue) throws -> CreateRequest {
            guard case .object(let fields) = value else { throw TallyError.validation("", "the body must be a JSON object") }
            if let unknown = fields.keys.sorted().first(where: { !["plan", "plan_version", "trial_days", "time_zone", "tenant_id"].contains($0) }) {
                throw TallyError.validation(unknown, "unknown member; a subscription takes plan, plan_version, trial_days, time_zone (and tenant_id for operators)")
            }
            guard case .string(let plan)? = fields["plan"], !plan.isEmpty else { throw TallyError.validation("plan", "plan is the key of a plan with prices") }
            var request = CreateRequest(plan: plan)
            request.planVersion = try Self.integer(fields["plan_version"], "plan_version", 1...1_000_000_000)
            request.trialDays = try Self.integer(fields["trial_days"], "trial_days", 0...365)
            switch fields["time_zone"] {
            case nil, .null?: break
            case .string(let zone)?:
                guard BillingContext.isZone(zone) else { throw TallyError.validation("time_zone", "time_zone is an IANA zone name such as Europe/Berlin") }
                request.timeZone = zone
            default: throw TallyError.validation("time_zone", "time_zone is an IANA zone name such as Europe/Berlin")
            }
            return request
        }

        static func integer(_ value: JSONValue?, _ field: String, _ range: ClosedRange<Int>) throws -> Int? {
            switch value {
            case nil, .null?: return nil
            case .number(let n)? where n == n.rounded() && n >= Double(range.lowerBound) && n <= Double(range.upperBound): return Int(n)
            default: throw TallyError.validation(field, "\(field) is a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
        }
    }

    /// Subscribes the tenant: trialing until the trial ends (periods then count from the trial's
    /// end), or active with periods counted from now. Starts on the current minute.
    public func create(_ request: CreateRequest, in scope: TenantScope, actor: String) async throws -> Subscription {
        guard let plan = try await context.store.prices(of: request.plan, version: request.planVersion) else {
            throw TallyError(Self.unknownPlan, request.planVersion == nil ? "no plan '\(request.plan)' has prices" : "plan '\(request.plan)' has no price version \(request.planVersion!)", field: request.planVersion == nil ? "plan" : "plan_version")
        }
        let zone: String
        if let given = request.timeZone { zone = given } else { zone = try await account(in: scope).timeZone }
        let now = context.now
        // Subscriptions start on the current whole minute, as the rollups that rate them count,
        // so no minute's usage falls in two periods.
        let start = EntitlementService.minute(now)
        let trialDays = request.trialDays ?? plan.trialDays
        var subscription: Subscription
        let id = SubscriptionID.generate(at: context.clock.now())
        let ref = Subscription.PlanRef(key: plan.key, version: plan.version)
        if trialDays > 0 {
            let trialEnd = start + Int64(trialDays) * 86_400
            subscription = Subscription(id: id, tenantID: scope.tenantID, plan: ref, state: .trialing, anchor: trialEnd, timeZone: zone, trialEnd: trialEnd,
                                        periodStart: start, periodEnd: trialEnd, createdAt: now, updatedAt: now)
        } else {
            let end = BillingPeriod.window(interval: plan.interval, anchor: start, zone: BillingContext.zone(zone), at: start).end
            subscription = Subscription(id: id, tenantID: scope.tenantID, plan: ref, state: .active, anchor: start, timeZone: zone, trialEnd: nil,
                                        periodStart: start, periodEnd: end, createdAt: now, updatedAt: now)
        }
        try await context.store.insertSubscription(subscription, audit: [
            context.audit(scope.tenantID, .subscription, id.rawValue, "created", from: nil, to: subscription.state.rawValue, actor: actor,
                          detail: "plan \(plan.key) v\(plan.version)"),
        ], in: scope)
        await context.link(subscription)
        await context.notify("subscription.created", subscription.json, tenant: scope.tenantID)
        return subscription
    }

    public func subscription(_ id: SubscriptionID, in scope: TenantScope?) async throws -> Subscription {
        guard let subscription = try await context.store.subscription(id, in: scope) else { throw TallyError(.notFound, "no subscription \(id)") }
        return subscription
    }

    public func subscriptions(in scope: TenantScope?, limit: Int, before: SubscriptionID?) async throws -> [Subscription] {
        try await context.store.subscriptions(in: scope, limit: limit, before: before)
    }

    public func audit(of id: String, in scope: TenantScope?) async throws -> [BillingAuditEntry] { try await context.store.audit(of: id, in: scope) }

    /// When a change or cancellation takes effect.
    public enum Timing: String, Sendable { case now, periodEnd = "period_end" }

    static func timing(_ value: JSONValue?, default fallback: Timing) throws -> Timing {
        switch value {
        case nil, .null?: return fallback
        case .string(let text)?: if let timing = Timing(rawValue: text) { return timing }
        default: break
        }
        throw TallyError.validation("at", "at is now or period_end")
    }

    /// `{"plan": key, "plan_version"?: n, "at": "now" | "period_end"}` (default `period_end`).
    /// Now: the flat fees are prorated by the second (a credit for the old plan's unused time, a
    /// charge for the new plan's remaining time, both on the next invoice) and the period's
    /// usage is rated at the plan in force when it ends. A change now keeps the currency and
    /// interval; other changes happen at period end (the new interval's periods then count from
    /// there).
    public func changePlan(_ id: SubscriptionID, _ json: JSONValue, in scope: TenantScope?, actor: String) async throws -> Subscription {
        guard case .object(let fields) = json else { throw TallyError.validation("", "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !["plan", "plan_version", "at"].contains($0) }) {
            throw TallyError.validation(unknown, "unknown member; a plan change takes plan, plan_version and at")
        }
        guard case .string(let key)? = fields["plan"], !key.isEmpty else { throw TallyError.validation("plan", "plan is the key of a plan with prices") }
        let version = try CreateRequest.integer(fields["plan_version"], "plan_version", 1...1_000_000_000)
        let timing = try Self.timing(fields["at"], default: .periodEnd)
        guard let target = try await context.store.prices(of: key, version: version) else {
            throw TallyError(Self.unknownPlan, "no plan '\(key)'\(version.map { " version \($0)" } ?? "") has prices", field: "plan")
        }
        let current = try await subscription(id, in: scope)
        guard !current.state.isFinal else { throw TallyError(.conflict, "subscription \(id) is \(current.state.rawValue); it can no longer change") }
        let tenant = TenantScope(operatorActingOn: current.tenantID)
        let ref = Subscription.PlanRef(key: target.key, version: target.version)
        let old = try await context.prices(current.plan)
        var next = current
        next.updatedAt = context.now
        var pending: [InvoiceDraft.Line] = []
        let detail = "\(current.plan.key) v\(current.plan.version) → \(target.key) v\(target.version)"
        let action: String
        switch timing {
        case .periodEnd:
            next.pendingPlan = ref == current.plan ? nil : ref
            action = "plan_change_scheduled"
        case .now:
            guard target.currency == old.currency, target.interval == old.interval else {
                throw TallyError.validation("at", "a change to another currency or interval happens at period end")
            }
            if !current.inTrial {
                let nominalEnd = BillingContext.nominalEnd(of: current, interval: old.interval, from: current.periodStart)
                let (credit, charge) = Proration.change(from: old.flatFee, to: target.flatFee, periodStart: current.periodStart, periodEnd: nominalEnd, changeAt: context.now)
                if credit.minorUnits != 0 {
                    pending.append(InvoiceDraft.Line(kind: .proration, description: "Unused time on \(old.name)", amount: credit, periodStart: context.now, periodEnd: nominalEnd))
                }
                if charge.minorUnits != 0 {
                    pending.append(InvoiceDraft.Line(kind: .proration, description: "Remaining time on \(target.name)", amount: charge, periodStart: context.now, periodEnd: nominalEnd))
                }
            }
            next.plan = ref
            next.pendingPlan = nil
            action = "plan_changed"
        }
        let entry = context.audit(current.tenantID, .subscription, id.rawValue, action, from: current.state.rawValue, to: next.state.rawValue, actor: actor, detail: detail)
        guard try await context.store.updateSubscription(next, expectedRevision: current.revision, pendingLines: pending, audit: [entry], in: tenant) else {
            throw TallyError(.conflict, "subscription \(id) changed meanwhile; read it again and retry")
        }
        next.revision = current.revision + 1
        if timing == .now { await context.link(next) }
        await context.notify("subscription.updated", next.json, tenant: current.tenantID)
        return next
    }

    /// Grants the subscription a credit (`{"amount": "50.00", "reason": "…"}`, in its plan's
    /// currency): a `credit` line on its next invoice, applied after tax and never below zero;
    /// what one invoice cannot use carries to the next.
    public func addCredit(_ id: SubscriptionID, _ json: JSONValue, in scope: TenantScope?, actor: String) async throws -> JSONValue {
        guard case .object(let fields) = json else { throw TallyError.validation("", "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { $0 != "amount" && $0 != "reason" }) {
            throw TallyError.validation(unknown, "unknown member; a credit takes amount and reason")
        }
        let current = try await subscription(id, in: scope)
        guard !current.closed else { throw TallyError(.conflict, "subscription \(id) is over; it has no next invoice to credit") }
        let plan = try await context.prices(current.plan)
        let amount = try BillingContext.amount(fields, in: plan.currency, whose: "the plan's")
        let reason = try BillingContext.reason(fields)
        var next = current
        next.updatedAt = context.now
        let line = InvoiceDraft.Line(kind: .credit, description: "Credit: \(reason)", amount: amount.negated)
        let entry = context.audit(current.tenantID, .subscription, id.rawValue, "credit_granted", from: current.state.rawValue, to: current.state.rawValue,
                                  actor: actor, detail: "\(amount) (\(reason))")
        guard try await context.store.updateSubscription(next, expectedRevision: current.revision, pendingLines: [line], audit: [entry],
                                                         in: TenantScope(operatorActingOn: current.tenantID)) else {
            throw TallyError(.conflict, "subscription \(id) changed meanwhile; read it again and retry")
        }
        return .object(["subscription_id": .string(id.rawValue), "amount": .string(amount.decimalString), "currency": .string(plan.currency.code),
                        "reason": .string(reason)])
    }

    /// `{"at": "now" | "period_end"}` (default `period_end`). Now: the subscription is canceled,
    /// its current period ends (at the next whole minute) and is invoiced by the next billing
    /// run with the flat fees prorated; entitlements end. At period end: it runs to the end of
    /// the period, is invoiced, then canceled.
    public func cancel(_ id: SubscriptionID, _ json: JSONValue, in scope: TenantScope?, actor: String) async throws -> Subscription {
        var timing = Timing.periodEnd
        switch json {
        case .null: break
        case .object(let fields):
            if let unknown = fields.keys.sorted().first(where: { $0 != "at" }) { throw TallyError.validation(unknown, "unknown member; a cancellation takes at") }
            timing = try Self.timing(fields["at"], default: .periodEnd)
        default: throw TallyError.validation("", "the body must be a JSON object")
        }
        let current = try await subscription(id, in: scope)
        var next = current
        let now = context.now
        next.updatedAt = now
        switch timing {
        case .periodEnd:
            guard !current.state.isFinal else { throw TallyError(.conflict, "subscription \(id) is already \(current.state.rawValue)") }
            next.cancelAtPeriodEnd = true
        case .now:
            guard let state = SubscriptionStateMachine.next(from: current.state, on: .cancel) else {
                throw TallyError(.conflict, "subscription \(id) is already \(current.state.rawValue)")
            }
            next.state = state
            next.endedAt = now
            next.periodEnd = max(current.periodStart, min(current.periodEnd, BillingContext.minuteCeiling(now)))
            next.pendingPlan = nil
            // Nothing to bill for a trial or an empty period.
            if current.inTrial || next.periodEnd == next.periodStart { next.closed = true }
        }
        let entry = context.audit(current.tenantID, .subscription, id.rawValue, timing == .now ? "canceled" : "cancel_scheduled",
                                  from: current.state.rawValue, to: next.state.rawValue, actor: actor)
        guard try await context.store.updateSubscription(next, expectedRevision: current.revision, pendingLines: [], audit: [entry],
                                                         in: TenantScope(operatorActingOn: current.tenantID)) else {
            throw TallyError(.conflict, "subscription \(id) changed meanwhile; read it again and retry")
        }
        next.revision = current.revision + 1
        if timing == .now {
            await context.link(next)
            await context.notify("subscription.canceled", next.json, tenant: current.tenantID)
        } else {
            await context.notify("subscription.updated", next.json, tenant: current.tenantID)
        }
        return next
    }
}
