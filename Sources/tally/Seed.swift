import ArgumentParser
import Billing
import Core
import Entitlements
import Platform
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tally seed`: loads `entitlements.json` and `quotas.json` (the feature catalog and plans)
/// and `plans.json` (plans' prices).
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load the feature catalog, plans and prices from entitlements.json, quotas.json and plans.json.",
        discussion: """
            Creates the features and plans that do not exist yet; existing plans are left as they are \
            unless --update is given. Prices in plans.json that differ from a plan's latest price version \
            make a new version (subscriptions keep theirs). Any of the files may be missing, not all. \
            See docs/ENTITLEMENTS.md and docs/BILLING.md.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "The directory holding entitlements.json and quotas.json.") var dir = "config"
    @Flag(help: "Replace plans that already exist with the files' version.") var update = false

    func run() async throws {
        var data: SeedData?
        var prices: [PricePlan] = []
        do {
            let entitlements = try Self.read(dir + "/entitlements.json")
            let quotas = try Self.read(dir + "/quotas.json")
            let plans = try Self.read(dir + "/plans.json")
            guard entitlements != nil || quotas != nil || plans != nil else {
                CommandContext.fail("tally: none of \(dir)/entitlements.json, \(dir)/quotas.json and \(dir)/plans.json exists")
            }
            if entitlements != nil || quotas != nil { data = try SeedData.parse(entitlements: entitlements, quotas: quotas) }
            if let plans { prices = try PricePlan.parseList(plans) }
        } catch let error as TallyError {
            CommandContext.fail("tally: \(error.detail)\(error.field.map { " (\($0))" } ?? "") [\(error.code.rawValue)]")
        }
        try await CLIRunner.run(options) { platform, _ in
            guard let entitlements = platform.entitlements else { CommandContext.fail("tally: this backend has no entitlement store") }
            if let data {
                let report = try await entitlements.seed(data, update: update)
                print("features created: \(report.createdFeatures.joined(separator: " "))")
                print("plans created: \(report.createdPlans.joined(separator: " "))")
                print("plans updated: \(report.updatedPlans.joined(separator: " "))")
                print("unchanged: \(report.unchanged.joined(separator: " "))")
            }
            if !prices.isEmpty, let billing = platform.billing {
                let report = try await billing.seed(prices)
                print("prices created: \(report.created.joined(separator: " "))")
                print("prices unchanged: \(report.unchanged.joined(separator: " "))")
            }
        }
    }

    /// The file's JSON, or `nil` when it does not exist.
    static func read(_ path: String) throws -> JSONValue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw TallyError.validation(path, "cannot read \(path)") }
        do {
            return try JSONParser.parse(Array(bytes))
        } catch {
            throw TallyError.validation(path, "\(path) is not valid JSON")
        }
    }
}
