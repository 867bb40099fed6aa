import ArgumentParser
import Billing
import Core
import Platform

/// `tally billing run|account|set-account`: the billing run on demand and tenants' billing
/// settings. Subscriptions and invoices have their own commands.
struct BillingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing",
        abstract: "Run billing now, and read or set a tenant's tax rate and time zone.",
        subcommands: [Run.self, Account.self, SetAccount.self]
    )

    /// The billing services, or a clear failure on a backend without them.
    static func services(_ platform: Platform) -> (BillingService, InvoiceService, BillingRun) {
        guard let billing = platform.billing, let invoices = platform.invoices, let run = platform.billingRun else {
            CommandContext.fail("tally: this backend has no billing store")
        }
        return (billing, invoices, run)
    }

    static func print(json value: JSONValue) {
        Swift.print(String(decoding: JSONWriter.encode(value), as: UTF8.self))
    }

    static func tenant(_ text: String) -> TenantScope {
        guard let id = TenantID(text) else { CommandContext.fail("tally: \(text) is not a tenant id (ten_…)") }
        return TenantScope(operatorActingOn: id)
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoice ended periods, finalize due drafts and carry out due dunning steps, once. Safe to repeat.",
            discussion: "Prints what the run did as JSON. `tally serve` and `tally worker` also run billing every TALLY_BILLING_RUN_SECONDS."
        )
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                BillingCommand.print(json: try await BillingCommand.services(platform).2.run().json)
            }
        }
    }

    struct Account: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant's billing settings.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant id (ten_…).") var tenant: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let scope = BillingCommand.tenant(tenant)
                _ = try await platform.tenants.get(scope.tenantID)
                BillingCommand.print(json: try await BillingCommand.services(platform).0.account(in: scope).json)
            }
        }
    }

    struct SetAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-account", abstract: "Set a tenant's tax rate and/or time zone.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant id (ten_…).") var tenant: String
        @Option(help: "The tax rate in percent, e.g. 8.25.") var taxRate: String?
        @Option(help: "The IANA time zone periods count in, e.g. Europe/Berlin.") var timeZone: String?

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let scope = BillingCommand.tenant(tenant)
                _ = try await platform.tenants.get(scope.tenantID)
                var fields: [String: JSONValue] = [:]
                if let taxRate { fields["tax_rate"] = .string(taxRate) }
                if let timeZone { fields["time_zone"] = .string(timeZone) }
                BillingCommand.print(json: try await BillingCommand.services(platform).0.setAccount(.object(fields), in: scope).json)
            }
        }
    }
}
