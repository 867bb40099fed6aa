import ArgumentParser
import Billing
import Core
import Metering
import Platform

/// `tally subscriptions list|show|create|change-plan|cancel`, acting as an operator.
struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create, change and cancel subscriptions.",
        subcommands: [List.self, Show.self, Create.self, ChangePlan.self, Cancel.self, Credit.self]
    )

    static let actor = "cli"

    static func id(_ text: String) -> SubscriptionID {
        guard let id = SubscriptionID(text) else { CommandContext.fail("tally: \(text) is not a subscription id (sub_…)") }
        return id
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subscriptions, newest first: id, tenant, plan@version, state, current period end.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this tenant's (ten_…).") var tenant: String?
        @Option(help: "At most this many.") var limit = 1_000
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let found = try await BillingCommand.services(platform).0.subscriptions(in: tenant.map(BillingCommand.tenant), limit: limit, before: nil)
                if json { return BillingCommand.print(json: .array(found.map(\.json))) }
                for s in found {
                    print("\(s.id)  \(s.tenantID)  \(s.plan.key)@\(s.plan.version)  \(s.state.rawValue)  \(RFC3339.format(microseconds: s.periodEnd * 1_000_000))")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a subscription as JSON, with its audit trail.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The subscription id (sub_…).") var id: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let billing = BillingCommand.services(platform).0
                let subscription = try await billing.subscription(Subscriptions.id(id), in: nil)
                guard case .object(var fields) = subscription.json else { return }
                fields["audit"] = .array(try await billing.audit(of: id, in: nil).map(\.json))
                BillingCommand.print(json: .object(fields))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe a tenant to a plan's prices.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The tenant id (ten_…).") var tenant: String
        @Option(help: "The plan key.") var plan: String
        @Option(help: "A price version (default: the latest).") var planVersion: Int?
        @Option(help: "Trial days (default: the plan's).") var trialDays: Int?
        @Option(help: "The IANA time zone periods count in (default: the tenant's).") var timeZone: String?

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let scope = BillingCommand.tenant(tenant)
                _ = try await platform.tenants.get(scope.tenantID)
                var fields: [String: JSONValue] = ["plan": .string(plan)]
                if let planVersion { fields["plan_version"] = .number(Double(planVersion)) }
                if let trialDays { fields["trial_days"] = .number(Double(trialDays)) }
                if let timeZone { fields["time_zone"] = .string(timeZone) }
                let request = try BillingService.CreateRequest.parse(.object(fields))
                BillingCommand.print(json: try await BillingCommand.services(platform).0.create(request, in: scope, actor: Subscriptions.actor).json)
            }
        }
    }

    struct ChangePlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "change-plan", abstract: "Change a subscription's plan, now (prorated) or at period end.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The subscription id (sub_…).") var id: String
        @Option(help: "The new plan key.") var plan: String
        @Option(help: "A price version (default: the latest).") var planVersion: Int?
        @Option(help: "now or period_end.") var at = "period_end"

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                var fields: [String: JSONValue] = ["plan": .string(plan), "at": .string(at)]
                if let planVersion { fields["plan_version"] = .number(Double(planVersion)) }
                let changed = try await BillingCommand.services(platform).0.changePlan(Subscriptions.id(id), .object(fields), in: nil, actor: Subscriptions.actor)
                BillingCommand.print(json: changed.json)
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a subscription, now or at period end.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The subscription id (sub_…).") var id: String
        @Option(help: "now or period_end.") var at = "period_end"

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let canceled = try await BillingCommand.services(platform).0.cancel(Subscriptions.id(id), .object(["at": .string(at)]), in: nil, actor: Subscriptions.actor)
                BillingCommand.print(json: canceled.json)
            }
        }
    }

    struct Credit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a subscription a credit, applied to its next invoices after tax.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The subscription id (sub_…).") var id: String
        @Option(help: "The amount, in the plan's currency (e.g. 50.00).") var amount: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let credit = try await BillingCommand.services(platform).0.addCredit(
                    Subscriptions.id(id), .object(["amount": .string(amount), "reason": .string(reason)]), in: nil, actor: Subscriptions.actor
                )
                BillingCommand.print(json: credit)
            }
        }
    }
}
