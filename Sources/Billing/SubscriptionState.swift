/// Where a subscription is in its life. `SubscriptionStateMachine` holds the transitions;
/// docs/BILLING.md draws them.
public enum SubscriptionState: String, Sendable, CaseIterable, Codable {
    /// In a free trial: entitled, not yet billed.
    case trialing
    /// Paid up (or within terms): entitled and billed each period.
    case active
    /// A payment failed or an invoice is overdue; dunning retries and reminds. Still entitled.
    case pastDue = "past_due"
    /// Dunning's retries are spent; a last grace period before suspension. Still entitled.
    case grace
    /// Entitlements drop to the suspended state; usage is still recorded. Payment reactivates.
    case suspended
    /// Ended by the customer, an operator, or dunning. Final.
    case canceled
    /// A fixed-term subscription reached its end. Final.
    case expired

    /// Whether the tenant keeps its plan's entitlements in this state.
    public var isEntitled: Bool {
        switch self {
        case .trialing, .active, .pastDue, .grace: true
        case .suspended, .canceled, .expired: false
        }
    }

    public var isFinal: Bool { self == .canceled || self == .expired }
}
