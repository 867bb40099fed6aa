/// The subscription state machine: every legal transition, the event that makes it, and who
/// sends it. Pure; services ask it before they move a subscription and refuse what it refuses.
///
/// ```
///   create(trial) ──▶ trialing ── trial converts ──▶ active ◀──────────── payment succeeds ─────┐
///   create ─────────────────────────────────────────▶ active                                     │
///                      trial ends unpaid │             │ payment fails / invoice overdue         │
///                                        ▼             ▼                                         │
///                                     past_due ── retries spent ──▶ grace ── grace ends ──▶ suspended
///                                        │  ▲                        │                           │
///                                        └──┴── payment succeeds ────┘ (back to active)          │
///   cancel (any non-final state) ──▶ canceled ◀── period ends with cancel-at-period-end ─────────┤
///                                               ◀── dunning gives up ────────────────────────────┘
///   term ends (trialing, active) ──▶ expired
/// ```
public enum SubscriptionStateMachine {
    public enum Event: String, Sendable, CaseIterable {
        /// The subscription is created with a trial / without.
        case createWithTrial, create
        /// The trial ended with a way to pay / without one.
        case trialConverts, trialEndsUnpaid
        /// A charge failed or an issued invoice passed its due date.
        case paymentFails
        /// The amount owed was paid (manually marked, or a provider confirmed it).
        case paymentSucceeds
        /// Dunning spent its retries.
        case retriesSpent
        /// The grace period passed unpaid.
        case graceEnds
        /// Dunning gave up on a suspended subscription.
        case dunningGivesUp
        /// Canceled now (customer, operator).
        case cancel
        /// A period ended on a subscription set to cancel at period end.
        case periodEndsCanceling
        /// A fixed-term subscription reached its end date.
        case termEnds
    }

    /// Who sends each event.
    public static func actor(of event: Event) -> String {
        switch event {
        case .createWithTrial, .create, .cancel: "API or CLI (tenant admin or operator)"
        case .trialConverts, .trialEndsUnpaid, .periodEndsCanceling, .termEnds: "billing run (at the period or trial end)"
        case .paymentFails: "payment provider callback, or the billing run (overdue invoice)"
        case .paymentSucceeds: "payment provider callback, or an operator marking the invoice paid"
        case .retriesSpent, .graceEnds, .dunningGivesUp: "dunning job"
        }
    }

    /// The state `event` moves a subscription in `state` (`nil`: a new one) to; `nil` when illegal.
    public static func next(from state: SubscriptionState?, on event: Event) -> SubscriptionState? {
        switch (state, event) {
        case (nil, .createWithTrial): .trialing
        case (nil, .create): .active
        case (.trialing?, .trialConverts): .active
        case (.trialing?, .trialEndsUnpaid): .pastDue
        case (.active?, .paymentFails): .pastDue
        case (.pastDue?, .paymentFails): .pastDue
        case (.pastDue?, .paymentSucceeds), (.grace?, .paymentSucceeds), (.suspended?, .paymentSucceeds): .active
        case (.pastDue?, .retriesSpent): .grace
        case (.grace?, .graceEnds): .suspended
        case (.suspended?, .dunningGivesUp): .canceled
        case (.trialing?, .cancel), (.active?, .cancel), (.pastDue?, .cancel), (.grace?, .cancel), (.suspended?, .cancel): .canceled
        case (.trialing?, .periodEndsCanceling), (.active?, .periodEndsCanceling), (.pastDue?, .periodEndsCanceling), (.grace?, .periodEndsCanceling): .canceled
        case (.trialing?, .termEnds), (.active?, .termEnds): .expired
        default: nil
        }
    }
}
