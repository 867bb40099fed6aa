/// How a meter folds event values into one number per window and group.
public enum Aggregation: String, Sendable, Codable, CaseIterable {
    case sum = "SUM"
    case count = "COUNT"
    case min = "MIN"
    case max = "MAX"
    case avg = "AVG"
    case uniqueCount = "UNIQUE_COUNT"
    case latest = "LATEST"

    /// Whether events must carry a value at the meter's value path.
    public var needsValue: Bool { self != .count }

    /// Whether the value must be numeric (UNIQUE_COUNT counts any scalar).
    public var needsNumber: Bool { self != .count && self != .uniqueCount }
}
