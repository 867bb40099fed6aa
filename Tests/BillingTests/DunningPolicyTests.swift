import Billing
import Core
import Testing

@Suite struct DunningPolicyTests {
    let day: Int64 = 86_400

    @Test func theStandardScheduleWalksTheSubscriptionToCancellation() {
        let policy = DunningPolicy.standard
        #expect((try? DunningPolicy(policy.steps)) == policy)  // the built-in schedule passes its own rules
        let failed: Int64 = 1_800_000_000
        #expect(policy.due(failedAt: failed, done: 0, now: failed + day - 1).isEmpty)
        #expect(policy.due(failedAt: failed, done: 0, now: failed + day).map(\.action) == [.retry, .remind])
        #expect(policy.nextDue(failedAt: failed, done: 2) == failed + 3 * day)
        // A dunning job that slept through a week catches up in order.
        #expect(policy.due(failedAt: failed, done: 2, now: failed + 8 * day).map(\.action) == [.retry, .remind, .retry, .remind, .grace])
        // Following the steps' events from past_due ends canceled, through grace and suspended.
        var state = SubscriptionState.pastDue
        for step in policy.steps {
            if let event = step.action.subscriptionEvent { state = SubscriptionStateMachine.next(from: state, on: event) ?? state }
        }
        #expect(state == .canceled)
        #expect(policy.due(failedAt: failed, done: policy.steps.count, now: failed + 400 * day).isEmpty)
        #expect(policy.nextDue(failedAt: failed, done: policy.steps.count) == nil)
    }

    @Test func schedulesAreParsedAndCheckedInOrder() throws {
        let parsed = try DunningPolicy.parse(try JSONParser.parse(Array(#"[{"after_days": 2, "action": "remind"}, {"after_days": 5, "action": "suspend"}, {"after_days": 20, "action": "cancel"}]"#.utf8)))
        #expect(parsed.steps.map(\.action) == [.remind, .suspend, .cancel])
        func field(_ json: String) -> String? {
            do { _ = try DunningPolicy.parse(try JSONParser.parse(Array(json.utf8))); return nil } catch let error as TallyError { return error.field } catch { return "?" }
        }
        #expect(field(#"{}"#) == "dunning")
        #expect(field(#"[{"after_days": 3, "action": "retry"}, {"after_days": 1, "action": "retry"}]"#) == "dunning[1].after_days")
        #expect(field(#"[{"after_days": 1, "action": "explode"}]"#) == "dunning[0].action")
        #expect(field(#"[{"after_days": 1.5, "action": "retry"}]"#) == "dunning[0].after_days")
        #expect(field(#"[{"after_days": 1, "action": "cancel"}, {"after_days": 2, "action": "remind"}]"#) == "dunning[1]")
        #expect(field(#"[{"after_days": 1, "action": "suspend"}, {"after_days": 2, "action": "grace"}]"#) == "dunning[1].action")
        #expect(field(#"[{"after_days": 1, "action": "grace"}, {"after_days": 2, "action": "retry"}]"#) == "dunning[1].action")
        #expect(field(#"[{"after_days": 400, "action": "cancel"}]"#) == "dunning[0].after_days")
    }
}
