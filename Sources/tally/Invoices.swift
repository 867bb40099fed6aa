import ArgumentParser
import Billing
import Core
import Platform

/// `tally invoices list|show|mark-paid|void|credit`, acting as an operator.
struct Invoices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and show invoices; mark them paid, void them, issue credit notes.",
        subcommands: [List.self, Show.self, MarkPaid.self, Void.self, Credit.self]
    )

    static func id(_ text: String) -> InvoiceID {
        guard let id = InvoiceID(text) else { CommandContext.fail("tally: \(text) is not an invoice id (inv_…)") }
        return id
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invoices, newest first: id, number, tenant, status, total, amount due.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this tenant's (ten_…).") var tenant: String?
        @Option(help: "Only this status: draft, open, paid or void.") var status: String?
        @Option(help: "At most this many.") var limit = 1_000
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var wanted: Invoice.Status?
            if let status {
                guard let parsed = Invoice.Status(rawValue: status) else { CommandContext.fail("tally: --status is draft, open, paid or void") }
                wanted = parsed
            }
            try await CLIRunner.run(options) { platform, _ in
                let found = try await BillingCommand.services(platform).1.invoices(in: tenant.map(BillingCommand.tenant), status: wanted, subscription: nil, limit: limit, before: nil)
                if json { return BillingCommand.print(json: .array(found.map(\.json))) }
                for i in found {
                    print("\(i.id)  \(i.number ?? "-")  \(i.tenantID)  \(i.status.rawValue)  \(i.total)  due \(i.amountDue.decimalString)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an invoice as JSON (with credit notes and audit trail), or as the printable HTML page.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The invoice id (inv_…).") var id: String
        @Flag(help: "Print the printable HTML page instead.") var html = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let (billing, invoices, _) = BillingCommand.services(platform)
                let invoice = try await invoices.invoice(Invoices.id(id), in: nil)
                let notes = try await invoices.creditNotes(of: invoice.id, in: nil)
                if html {
                    let tenant = try await platform.tenants.get(invoice.tenantID)
                    return print(InvoicePage.html(invoice, creditNotes: notes, tenantName: tenant.name), terminator: "")
                }
                guard case .object(var fields) = invoice.json else { return }
                fields["credit_notes"] = .array(notes.map(\.json))
                fields["audit"] = .array(try await billing.audit(of: id, in: nil).map(\.json))
                BillingCommand.print(json: .object(fields))
            }
        }
    }

    struct MarkPaid: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mark-paid", abstract: "Mark an open invoice paid (collected by hand).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The invoice id (inv_…).") var id: String
        @Option(help: "The payment's reference (a bank transfer id, a cheque number).") var reference: String?

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                BillingCommand.print(json: try await BillingCommand.services(platform).1.markPaid(Invoices.id(id), reference: reference, in: nil, actor: Subscriptions.actor).json)
            }
        }
    }

    struct Void: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Void a draft or open invoice.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The invoice id (inv_…).") var id: String
        @Option(help: "Why.") var reason: String?

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                BillingCommand.print(json: try await BillingCommand.services(platform).1.void(Invoices.id(id), reason: reason, in: nil, actor: Subscriptions.actor).json)
            }
        }
    }

    struct Credit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a credit note against a finalized invoice.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The invoice id (inv_…).") var id: String
        @Option(help: "The amount, in the invoice's currency (e.g. 12.50).") var amount: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let note = try await BillingCommand.services(platform).1.creditNote(
                    Invoices.id(id), .object(["amount": .string(amount), "reason": .string(reason)]), in: nil, actor: Subscriptions.actor
                )
                BillingCommand.print(json: note.json)
            }
        }
    }
}
