import ArgumentParser
import Core
import Platform
import Storage

/// `tally api-keys create|list|revoke`.
struct APIKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys",
        abstract: "Manage API keys directly in the configured database.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue an API key; the secret is printed once and never stored.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Tenant id or slug the key acts for.") var tenant: String?
        @Flag(help: "Issue an operator (platform admin) key instead of a tenant key.") var `operator` = false
        @Option(help: "A name to tell the key apart.") var name: String = "cli"
        @Option(name: .customLong("scope"), help: "A scope (repeatable); default: every tenant scope. Known: \(Scope.known.map(\.rawValue).joined(separator: ", ")).")
        var scopes: [String] = []
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (tenant == nil) == `operator` else { throw ValidationError("give exactly one of --tenant or --operator") }
            for scope in scopes where Scope(scope) == nil { throw ValidationError("unknown scope '\(scope)'") }
        }

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                let issued: IssuedAPIKey
                if let tenant {
                    let found = try await platform.tenants.find(tenant)
                    let input = NewAPIKey(name: name, scopes: scopes.isEmpty ? nil : scopes.compactMap(Scope.init))
                    issued = try await platform.apiKeys.createTenantKey(in: TenantScope(operatorActingOn: found.id), input, grantor: nil)
                } else {
                    issued = try await platform.apiKeys.createOperatorKey(name: name)
                }
                if json {
                    try CLIOutput.print(issued, json: true) { _ in "" }
                } else {
                    print("id:      \(issued.key.id.rawValue)")
                    print("tenant:  \(issued.key.tenantID?.rawValue ?? "(operator)")")
                    print("scopes:  \(issued.key.scopes.map(\.rawValue).joined(separator: " "))")
                    print("secret:  \(issued.token.text)")
                    print("The secret is shown once; store it now.")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's keys, or operator keys with --operator.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Tenant id or slug.") var tenant: String?
        @Flag(help: "List operator keys.") var `operator` = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (tenant == nil) == `operator` else { throw ValidationError("give exactly one of --tenant or --operator") }
        }

        func run() async throws {
            try await CLIRunner.run(options) { platform, _ in
                var scope: TenantScope?
                if let tenant { scope = TenantScope(operatorActingOn: try await platform.tenants.find(tenant).id) }
                let all = try await CLIRunner.allPages { page in
                    if let scope { try await platform.apiKeys.list(in: scope, page) } else { try await platform.apiKeys.listOperatorKeys(page) }
                }
                try CLIOutput.printList(all, json: json) { key in
                    "\(key.id.rawValue)  \(key.displayPrefix)…  \(key.revokedAt == nil ? "active " : "revoked")  \(key.name)  [\(key.scopes.map(\.rawValue).joined(separator: " "))]"
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key (idempotent).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The key id (key_…).") var key: String

        func run() async throws {
            guard let id = APIKeyID(key) else { CommandContext.fail("tally: '\(key)' is not an API key id (key_…)") }
            try await CLIRunner.run(options) { platform, _ in
                guard let found = try await platform.store.credential(for: id) else { throw TallyError.notFound("API key") }
                let revoked = try await platform.apiKeys.revoke(id, in: found.key.tenantID.map(TenantScope.init(operatorActingOn:)))
                print("\(revoked.id.rawValue)  revoked at \(revoked.revokedAt.map { "\($0)" } ?? "?")")
            }
        }
    }
}
