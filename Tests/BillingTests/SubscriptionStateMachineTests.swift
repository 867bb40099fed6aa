import Billing
import Testing

@Suite struct SubscriptionStateMachineTests {
    typealias E = SubscriptionStateMachine.Event
    static let legal: [SubscriptionState?: [E: SubscriptionState]] = [
        nil: [.createWithTrial: .trialing, .create: .active],
        .trialing: [.trialConverts: .active, .trialEndsUnpaid: .pastDue, .cancel: .canceled, .periodEndsCanceling: .canceled, .termEnds: .expired],
        .active: [.paymentFails: .pastDue, .cancel: .canceled, .periodEndsCanceling: .canceled, .termEnds: .expired],
        .pastDue: [.paymentFails: .pastDue, .paymentSucceeds: .active, .retriesSpent: .grace, .cancel: .canceled, .periodEndsCanceling: .canceled],
        .grace: [.paymentSucceeds: .active, .graceEnds: .suspended, .cancel: .canceled, .periodEndsCanceling: .canceled],
        .suspended: [.paymentSucceeds: .active, .dunningGivesUp: .canceled, .cancel: .canceled],
        .canceled: [:],
        .expired: [:],
    ]

    @Test func everyStateAndEventPairIsDecided() {
        let states: [SubscriptionState?] = [nil] + SubscriptionState.allCases.map(Optional.some)
        for state in states {
            for event in E.allCases {
                #expect(SubscriptionStateMachine.next(from: state, on: event) == Self.legal[state]?[event], "\(String(describing: state)) on \(event)")
            }
        }
        #expect(Self.legal.count == SubscriptionState.allCases.count + 1)
    }

    @Test func entitlementsFollowTheState() {
        #expect(SubscriptionState.allCases.filter(\.isEntitled) == [.trialing, .active, .pastDue, .grace])
        #expect(SubscriptionState.allCases.filter(\.isFinal) == [.canceled, .expired])
        for event in E.allCases { #expect(!SubscriptionStateMachine.actor(of: event).isEmpty) }
        // Payment brings back every unpaid state, never a final one.
        for state in SubscriptionState.allCases {
            let next = SubscriptionStateMachine.next(from: state, on: .paymentSucceeds)
            #expect(next == ([.pastDue, .grace, .suspended].contains(state) ? .active : nil), "\(state)")
        }
    }
}
