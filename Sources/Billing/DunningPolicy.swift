import Core

/// What happens after a payment fails or an invoice goes overdue: a schedule of steps, each a
/// number of days after the failure. Pure: `due(failedAt:done:now:)` says which steps are due;
/// the dunning job carries them out (retrying the charge, sending reminders as webhooks,
/// moving the subscription) and a payment at any point ends the schedule.
public struct DunningPolicy: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable, CaseIterable {
        /// Try the charge again (providers that can charge; manual invoicing just reminds).
        case retry
        /// Send the `invoice.payment_reminder` webhook.
        case remind
        /// Retries are spent: the subscription enters its grace period (`past_due` → `grace`).
        case grace
        /// Grace is over: entitlements drop (`grace` → `suspended`); usage is still recorded.
        case suspend
        /// Give up: the subscription is canceled (`suspended` → `canceled`).
        case cancel

        /// The subscription event the step sends, if it moves the subscription.
        public var subscriptionEvent: SubscriptionStateMachine.Event? {
            switch self {
            case .retry, .remind: nil
            case .grace: .retriesSpent
            case .suspend: .graceEnds
            case .cancel: .dunningGivesUp
            }
        }
    }

    public struct Step: Sendable, Equatable {
        public var afterDays: Int
        public var action: Action

        public init(afterDays: Int, action: Action) {
            self.afterDays = afterDays
            self.action = action
        }
    }

    public let steps: [Step]

    /// Retries with reminders after 1, 3 and 7 days; grace from day 7, suspension on day 14,
    /// cancellation on day 30.
    public static let standard = DunningPolicy(checked: [
        Step(afterDays: 1, action: .retry), Step(afterDays: 1, action: .remind), Step(afterDays: 3, action: .retry), Step(afterDays: 3, action: .remind),
        Step(afterDays: 7, action: .retry), Step(afterDays: 7, action: .remind), Step(afterDays: 7, action: .grace), Step(afterDays: 14, action: .suspend),
        Step(afterDays: 30, action: .cancel),
    ])

    /// For schedules known to be valid (`standard`; its test checks it against `init(_:)`).
    private init(checked steps: [Step]) {
        self.steps = steps
    }

    /// Validates: days ascend (0 to 365); `grace`, `suspend` and `cancel` each at most once and in
    /// that order, nothing after `cancel`. Throws `validation_failed` naming the step.
    public init(_ steps: [Step]) throws {
        var lastDay = 0
        var stage = 0  // 0: retrying, 1: grace, 2: suspended, 3: canceled
        for (index, step) in steps.enumerated() {
            let field = "dunning[\(index)]"
            guard (0...365).contains(step.afterDays), step.afterDays >= lastDay else {
                throw TallyError.validation("\(field).after_days", "steps are 0 to 365 days after the failure, in order")
            }
            lastDay = step.afterDays
            guard stage < 3 else { throw TallyError.validation(field, "nothing comes after cancel") }
            switch step.action {
            case .retry, .remind:
                guard stage == 0 || step.action == .remind else { throw TallyError.validation("\(field).action", "retries come before grace") }
            case .grace:
                guard stage == 0 else { throw TallyError.validation("\(field).action", "grace comes once, before suspend and cancel") }
                stage = 1
            case .suspend:
                guard stage <= 1 else { throw TallyError.validation("\(field).action", "suspend comes once, before cancel") }
                stage = 2
            case .cancel:
                stage = 3
            }
        }
        self.steps = steps
    }

    /// Steps due at `now` for a failure at `failedAt` (both Unix seconds), of which the first
    /// `done` were carried out already: their indexes and actions, in order.
    public func due(failedAt: Int64, done: Int, now: Int64) -> [(index: Int, action: Action)] {
        guard done < steps.count else { return [] }
        return steps.enumerated().dropFirst(done).prefix { failedAt + Int64($0.element.afterDays) * 86_400 <= now }.map { ($0.offset, $0.element.action) }
    }

    /// When the next step after the first `done` is due (`nil`: none left).
    public func nextDue(failedAt: Int64, done: Int) -> Int64? {
        guard done < steps.count else { return nil }
        return failedAt + Int64(steps[done].afterDays) * 86_400
    }

    /// Reads `[{"after_days": 1, "action": "retry"}, …]`.
    public static func parse(_ value: JSONValue) throws -> DunningPolicy {
        guard case .array(let items) = value else { throw TallyError.validation("dunning", "dunning is an array of steps") }
        return try DunningPolicy(items.enumerated().map { index, item in
            guard case .object(let fields) = item, case .number(let days)? = fields["after_days"], days == days.rounded(), abs(days) < 1e6 else {
                throw TallyError.validation("dunning[\(index)].after_days", "after_days is a whole number of days")
            }
            guard case .string(let name)? = fields["action"], let action = Action(rawValue: name) else {
                throw TallyError.validation("dunning[\(index)].action", "action is one of \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return Step(afterDays: Int(days), action: action)
        })
    }
}
