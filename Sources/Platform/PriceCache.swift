import Billing
import Core

/// Price versions read once and kept: a stored version never changes, so the billing run
/// (thousands of subscriptions on a handful of plans) reads each from the store only once.
actor PriceCache {
    private var plans: [String: PricePlan] = [:]

    func plan(_ ref: Subscription.PlanRef, context: BillingContext) async throws -> PricePlan {
        let key = "\(ref.key)@\(ref.version)"
        if let plan = plans[key] { return plan }
        let plan = try await context.prices(ref)
        plans[key] = plan
        return plan
    }
}
