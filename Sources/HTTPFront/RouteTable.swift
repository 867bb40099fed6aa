/// The router's routes as templates, to tell "no such path" (404) from "no such method on this
/// path" (405 with `Allow`), which Hummingbird's router answers alike.
public struct RouteTable: Sendable {
    private var methodsByTemplate: [[Substring]: Set<String>] = [:]

    /// Builds the table from `(method, "/v1/tenants/{id}")` pairs.
    public init(_ routes: [(method: String, template: String)]) {
        for route in routes {
            methodsByTemplate[Self.segments(route.template), default: []].insert(route.method)
        }
    }

    /// The methods served on `path`, sorted; empty when no route template matches it.
    public func methods(matching path: String) -> [String] {
        let parts = Self.segments(path)
        var methods = Set<String>()
        for (template, served) in methodsByTemplate where template.count == parts.count {
            let matches = zip(template, parts).allSatisfy { pattern, part in
                (pattern.hasPrefix("{") && pattern.hasSuffix("}") && !part.isEmpty) || pattern == part
            }
            if matches { methods.formUnion(served) }
        }
        return methods.sorted()
    }

    private static func segments(_ path: String) -> [Substring] {
        let withoutQuery = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return withoutQuery.split(separator: "/")
    }
}
