import ArgumentParser
import Core
import Platform
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally tenants create|list|suspend|activate`.
struct Tenants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants",
        abstract: "Manage tenants directly in the configured database.",
        subcommands: [Create.self, List.self, Suspend.self, Activate.self]
    )

    static func setStatus(_ status: TenantStatus, of tenant: String, options: GlobalOptions) async throws {
        try await CLIRunner.run(options) { platform, _ in
            let found = try await platform.tenants.find(tenant)
            let updated = try await platform.tenants.update(found.id, TenantChange(status: status))
            print("\(updated.id.rawValue)  \(updated.slug)  \(updated.status.rawValue)")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an active tenant.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "URL-safe handle: 2-63 characters of a-z, 0-9 and '-'.") var slug: String
        @Option(help: "Display name.") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let tenant = try await platform.tenants.create(NewTenant(slug: slug, name: name))
                try CLIOutput.print(tenant, json: json) { "\($0.id.rawValue)  \($0.slug)  \($0.status.rawValue)  \($0.name)" }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let all = try await CLIRunner.allPages { try await platform.tenants.list($0) }
                try CLIOutput.printList(all, json: json) { "\($0.id.rawValue)  \($0.slug)  \($0.status.rawValue)  \($0.name)" }
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a tenant: its keys get 403 tenant_suspended; data is kept.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant id or slug.") var tenant: String

        func run() async throws {
            try await Tenants.setStatus(.suspended, of: tenant, options: options)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-activate a suspended tenant.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant id or slug.") var tenant: String

        func run() async throws {
            try await Tenants.setStatus(.active, of: tenant, options: options)
        }
    }
}
