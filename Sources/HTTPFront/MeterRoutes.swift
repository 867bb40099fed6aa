import Core
import HTTPTypes
import Hummingbird
import Metering
import Platform
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/v1/meters`, their queries, and `/v1/usage` (totals of every meter over a range).
struct MeterRoutes {
    let platform: Platform
    let bodyLimit: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("meters") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.metersWrite)
            let meter = try await JSONBody.decode(MeterDefinition.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.metering.createMeter(meter, in: scope), status: .created)
        }
        group.get("meters") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.usageRead)
            return try JSONBody.response(ListBody(Page(items: try await platform.metering.meters(in: scope), nextCursor: nil)))
        }
        group.get("meters/:slug") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.usageRead)
            return try JSONBody.response(try await platform.metering.meter(try slug(context), in: scope))
        }
        group.patch("meters/:slug") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.metersWrite)
            let patch = try await JSONBody.decode(MeterPatch.self, from: request, limit: bodyLimit)
            return try JSONBody.response(try await platform.metering.updateMeter(try slug(context), patch, in: scope))
        }
        group.get("meters/:slug/query") { request, context in
            let scope = try context.requirePrincipal().requireTenant(.usageRead)
            let query = try Self.query(from: request)
            let (meter, points) = try await platform.metering.query(try slug(context), query, in: scope)
            return try JSONBody.response(QueryBody(meter: meter, query: query, points: points))
        }
        group.get("usage") { request, context in try await usage(request, context) }
    }

    /// `GET /v1/usage` (and `GET /api/usage`): every meter's value over `from`…`to`.
    func usage(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.usageRead)
        let asked = try Self.query(from: request)
        let query = MeterQuery(from: asked.from, to: asked.to, window: .minute)  // totals: to the minute
        var totals: [UsageBody.Total] = []
        for meter in try await platform.metering.meters(in: scope) {
            let value = try await platform.metering.total(meter, query, in: scope)
            totals.append(UsageBody.Total(meter: meter.slug, aggregation: meter.aggregation.rawValue, value: value?.description))
        }
        return try JSONBody.response(UsageBody(from: RFC3339.format(microseconds: query.from * 1_000_000), to: RFC3339.format(microseconds: query.to * 1_000_000), meters: totals))
    }

    private func slug(_ context: TallyRequestContext) throws -> String {
        guard let slug = context.parameters.get("slug") else { throw TallyError.notFound("meter") }
        return slug
    }

    /// `from`, `to` (RFC 3339, required), `window` (minute|hour|day, default hour), `group_by`
    /// (comma-separated dimensions; empty for one total per window), `subject`.
    static func query(from request: Request) throws -> MeterQuery {
        let parameters = request.uri.queryParameters
        func time(_ name: String) throws -> Int64 {
            guard let text = parameters[Substring(name)].map(String.init) else {
                throw TallyError(.invalidParameter, "\(name) is required (RFC 3339, e.g. 2026-11-28T00:00:00Z)", field: name)
            }
            guard let micros = RFC3339.microseconds(text) else {
                throw TallyError(.invalidParameter, "\(name) must be an RFC 3339 timestamp", field: name)
            }
            return RollupBatch.floorSeconds(micros)
        }
        var window = WindowSize.hour
        if let text = parameters["window"].map(String.init) {
            guard let parsed = WindowSize(rawValue: text) else { throw TallyError(.invalidParameter, "window must be minute, hour or day", field: "window") }
            window = parsed
        }
        let groupBy = parameters["group_by"].map { String($0).split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty } }
        var zone: TimeZone?
        if let name = parameters["tz"].map(String.init), !name.isEmpty {
            guard let parsed = TimeZone(identifier: name) else {
                throw TallyError(.invalidParameter, "tz must be an IANA time zone name such as Europe/Berlin or America/New_York", field: "tz")
            }
            zone = parsed
        }
        return MeterQuery(
            from: try time("from"), to: try time("to"), window: window, groupBy: groupBy, subject: parameters["subject"].map(String.init), timeZone: zone
        )
    }
}

struct QueryBody: Encodable {
    struct Point: Encodable {
        let windowStart: String
        let windowEnd: String
        let group: [String: String]
        let value: String

        enum CodingKeys: String, CodingKey { case windowStart = "window_start", windowEnd = "window_end", group, value }
    }

    let meter: String
    let aggregation: String
    let window: String
    let tz: String
    let from: String
    let to: String
    let data: [Point]

    init(meter: MeterDefinition, query: MeterQuery, points: [MeterQuery.Point]) {
        self.meter = meter.slug
        self.aggregation = meter.aggregation.rawValue
        self.window = query.window.rawValue
        self.tz = query.timeZone?.identifier ?? "UTC"
        let grid = query.grid
        func format(_ seconds: Int64, _ offset: Int32) -> String { RFC3339.format(microseconds: seconds * 1_000_000, offsetSeconds: offset) }
        self.from = format(query.windowRange.from, grid?.offsets.first ?? 0)
        self.to = format(query.windowRange.to, grid?.offsets.last ?? 0)
        self.data = points.compactMap { point in
            guard let window = grid?.window(startingAt: point.windowStart) else { return nil }
            return Point(
                windowStart: format(window.start, window.startOffset), windowEnd: format(window.end, window.endOffset),
                group: point.group, value: point.value.description
            )
        }
    }
}

struct UsageBody: Encodable {
    struct Total: Encodable {
        let meter: String
        let aggregation: String
        /// Exact decimal text; `null` when the aggregation has nothing to report (MAX of no events).
        let value: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(meter, forKey: .meter)
            try c.encode(aggregation, forKey: .aggregation)
            try c.encode(value, forKey: .value)
        }

        enum Keys: String, CodingKey { case meter, aggregation, value }
    }

    let from: String
    let to: String
    let meters: [Total]
}
