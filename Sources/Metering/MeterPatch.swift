import Core

/// A change to a meter (`PATCH /v1/meters/{slug}`): any of its fields but the slug. The changed
/// meter is recomputed over every booked event of its type, so its history always follows its
/// definition.
public struct MeterPatch: Sendable, Equatable, Decodable {
    public var slug: String?
    public var eventType: String?
    public var aggregation: Aggregation?
    /// `.some(nil)` removes the value path (for COUNT).
    public var valuePath: String??
    public var groupBy: [String: String]?

    public init(eventType: String? = nil, aggregation: Aggregation? = nil, valuePath: String?? = nil, groupBy: [String: String]? = nil) {
        self.eventType = eventType
        self.aggregation = aggregation
        self.valuePath = valuePath
        self.groupBy = groupBy
    }

    enum CodingKeys: String, CodingKey {
        case slug, eventType = "event_type", aggregation, valuePath = "value_path", groupBy = "group_by"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        slug = try c.decodeIfPresent(String.self, forKey: .slug)
        eventType = try c.decodeIfPresent(String.self, forKey: .eventType)
        aggregation = try c.decodeIfPresent(Aggregation.self, forKey: .aggregation)
        if c.contains(.valuePath) { valuePath = .some(try c.decodeIfPresent(String.self, forKey: .valuePath)) }
        groupBy = try c.decodeIfPresent([String: String].self, forKey: .groupBy)
    }

    /// The meter with the change applied and validated.
    public func apply(to meter: MeterDefinition) throws(TallyError) -> MeterDefinition {
        if let slug, slug != meter.slug { throw .validation("slug", "a meter's slug cannot change; create a new meter instead") }
        var changed = meter
        if let eventType { changed.eventType = eventType }
        if let aggregation { changed.aggregation = aggregation }
        if let valuePath { changed.valuePath = valuePath }
        if let groupBy { changed.groupBy = groupBy }
        try changed.validate()
        return changed
    }
}
