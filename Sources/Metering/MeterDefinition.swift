import Core

/// A meter: which events it counts, how, and by which dimensions.
public struct MeterDefinition: Sendable, Equatable, Codable {
    /// A unique handle per tenant (`api-tokens`): 2-63 of `a-z`, `0-9`, `-`, `_`.
    public var slug: String
    /// The CloudEvents `type` the meter counts.
    public var eventType: String
    public var aggregation: Aggregation
    /// A dotted path into the event's `data` (`usage.input_tokens`); absent for COUNT.
    public var valuePath: String?
    /// Dimension name to path: `subject`, or `data.<dotted path>`.
    public var groupBy: [String: String]

    public init(slug: String, eventType: String, aggregation: Aggregation, valuePath: String?, groupBy: [String: String] = [:]) {
        self.slug = slug
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
        self.init(
            slug: try c.decode(String.self, forKey: .slug), eventType: try c.decode(String.self, forKey: .eventType),
            aggregation: try c.decode(Aggregation.self, forKey: .aggregation), valuePath: try c.decodeIfPresent(String.self, forKey: .valuePath),
            groupBy: try c.decodeIfPresent([String: String].self, forKey: .groupBy) ?? [:]
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slug, forKey: .slug)
        try c.encode(eventType, forKey: .eventType)
        try c.encode(aggregation, forKey: .aggregation)
        try c.encode(valuePath, forKey: .valuePath)
        try c.encode(groupBy, forKey: .groupBy)
    }

    /// The most dimensions a meter may group by.
    public static let maxDimensions = 8

    /// Checks every rule; throws `validation_failed` naming the field.
    public func validate() throws(TallyError) {
        let slugBytes = Array(slug.utf8)
        guard (2...63).contains(slugBytes.count), slugBytes[0] != UInt8(ascii: "-"), slugBytes[0] != UInt8(ascii: "_"),
              slugBytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
            throw .validation("slug", "slug must be 2-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
        }
        guard !eventType.isEmpty, eventType.utf8.count <= CloudEventEnvelope.maxAttributeBytes else {
            throw .validation("event_type", "event_type must be 1-\(CloudEventEnvelope.maxAttributeBytes) bytes")
        }
        switch (aggregation.needsValue, valuePath) {
        case (true, nil):
            throw .validation("value_path", "\(aggregation.rawValue) meters need a value_path into data")
        case (false, _?):
            throw .validation("value_path", "COUNT meters count events and take no value_path")
        case (true, let path?):
            guard DataPath(path) != nil else { throw .validation("value_path", "value_path must be dotted names of A-Z, a-z, 0-9, '_' and '-', at most 8 deep") }
        case (false, nil):
            break
        }
        guard groupBy.count <= Self.maxDimensions else { throw .validation("group_by", "a meter groups by at most \(Self.maxDimensions) dimensions") }
        for (name, path) in groupBy {
            guard Self.isDimensionName(name) else {
                throw .validation("group_by.\(name)", "dimension names are 1-32 characters of a-z, 0-9 and '_', starting with a letter")
            }
            guard path == "subject" || (path.hasPrefix("data.") && DataPath(String(path.dropFirst(5))) != nil) else {
                throw .validation("group_by.\(name)", "a dimension path is 'subject' or 'data.<dotted path>'")
            }
        }
    }

    /// What this meter reads from `event`: `nil` when the event is of another type, a
    /// rejection when it is of this type but lacks a usable value.
    public func reading(of event: UsageEvent) -> Result<MeterReading, EventRejection>? {
        guard event.type == eventType else { return nil }
        var value = MeterReading.Value.none
        if aggregation.needsValue, let valuePath, let path = DataPath(valuePath) {
            guard let raw = path.value(in: event.data), raw != .null else {
                return .failure(EventRejection("meter_value_missing", field: "data.\(valuePath)", "meter '\(slug)' needs a value at data.\(valuePath)"))
            }
            if aggregation.needsNumber {
                guard let number = Quantity(json: raw) else {
                    return .failure(EventRejection(
                        "meter_value_invalid", field: "data.\(valuePath)",
                        "meter '\(slug)' needs an exact decimal at data.\(valuePath) (a number with at most 15 significant digits and 9 decimals, or a decimal string)"
                    ))
                }
                value = .number(number)
            } else {
                guard let key = Self.scalarText(raw) else {
                    return .failure(EventRejection("meter_value_invalid", field: "data.\(valuePath)", "meter '\(slug)' counts distinct scalar values; data.\(valuePath) is not one"))
                }
                value = .distinct(key)
            }
        }
        var dimensions: [String: String] = [:]
        for (name, path) in groupBy {
            let raw: JSONValue?
            if path == "subject" {
                raw = event.subject.map(JSONValue.string)
            } else {
                raw = DataPath(String(path.dropFirst(5)))?.value(in: event.data)
            }
            if let raw, let text = Self.scalarText(raw) { dimensions[name] = text }
        }
        return .success(MeterReading(meter: slug, time: event.time, eventID: event.id, value: value, dimensions: dimensions))
    }

    static func isDimensionName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...32).contains(bytes.count) && bytes[0] >= 97 && bytes[0] <= 122
            && bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// Strings as they are; numbers in their shortest form; booleans as `true`/`false`.
    static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): Quantity(exactly: number)?.description ?? "\(number)"
        default: nil
        }
    }
}

/// What one event contributes to one meter.
public struct MeterReading: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        /// COUNT: the event itself is the unit.
        case none
        case number(Quantity)
        /// UNIQUE_COUNT: the distinct value's text.
        case distinct(String)
    }

    public var meter: String
    /// Microseconds since the epoch: the event's own time, which picks its window.
    public var time: Int64
    public var eventID: String
    public var value: Value
    /// Dimension values present on the event; an absent dimension is its own group.
    public var dimensions: [String: String]

    public init(meter: String, time: Int64, eventID: String, value: Value, dimensions: [String: String]) {
        self.meter = meter
        self.time = time
        self.eventID = eventID
        self.value = value
        self.dimensions = dimensions
    }
}

/// A dotted path into a JSON object: `usage.input_tokens`.
public struct DataPath: Sendable, Equatable {
    public let segments: [String]

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...8).contains(parts.count), parts.allSatisfy({ part in
            (1...64).contains(part.utf8.count) && part.utf8.allSatisfy { b in
                (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 95 || b == 45
            }
        }) else { return nil }
        self.segments = parts
    }

    /// The value at the path, or `nil` when any step is missing or not an object.
    public func value(in object: [String: JSONValue]) -> JSONValue? {
        var current = JSONValue.object(object)
        for segment in segments {
            guard case .object(let members) = current, let next = members[segment] else { return nil }
            current = next
        }
        return current
    }
}
