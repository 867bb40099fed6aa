import Core

/// A question to a meter: its value per window (minute, hour or day) and group, over a range.
public struct MeterQuery: Sendable, Equatable {
    /// Range start and end in Unix seconds; the start is floored and the end ceiled to the window.
    public var from: Int64
    public var to: Int64
    public var window: WindowSize
    /// Dimensions to keep; the others are merged. `nil` keeps every dimension the meter has.
    public var groupBy: [String]?
    /// Only rows whose dimension that reads `subject` has this value.
    public var subject: String?

    /// The most windows one query may span.
    public static let maxWindows: Int64 = 10_000

    public init(from: Int64, to: Int64, window: WindowSize, groupBy: [String]? = nil, subject: String? = nil) {
        self.from = from
        self.to = to
        self.window = window
        self.groupBy = groupBy
        self.subject = subject
    }

    /// The rollup range to read: minute windows covering the query's windows.
    public var windowRange: (from: Int64, to: Int64) {
        let start = window.bucketStart(containing: from)
        let lastStart = window.bucketStart(containing: to - 1)
        return (start, lastStart + window.seconds)
    }

    /// Checks the query against the meter; throws `invalid_parameter` naming the parameter.
    public func validate(for meter: MeterDefinition) throws(TallyError) {
        guard from < to else { throw TallyError(.invalidParameter, "from must be before to", field: "from") }
        let range = windowRange
        guard (range.to - range.from) / window.seconds <= Self.maxWindows else {
            throw TallyError(.invalidParameter, "the range spans more than \(Self.maxWindows) \(window.rawValue) windows; use a larger window or a shorter range", field: "window")
        }
        if let groupBy {
            for name in groupBy where meter.groupBy[name] == nil {
                throw TallyError(.invalidParameter, "meter '\(meter.slug)' has no dimension '\(name)'", field: "group_by")
            }
        }
        if subject != nil, subjectDimension(of: meter) == nil {
            throw TallyError(.invalidParameter, "meter '\(meter.slug)' does not group by subject, so it cannot filter by one", field: "subject")
        }
    }

    func subjectDimension(of meter: MeterDefinition) -> String? {
        meter.groupBy.first(where: { $0.value == "subject" })?.key
    }

    /// One answer: a window, a group, and the meter's exact value there.
    public struct Point: Sendable, Equatable {
        public var windowStart: Int64
        public var group: [String: String]
        public var value: Quantity
    }

    /// The meter's one value over the whole range (all groups, subject filter applied); `nil`
    /// when there is nothing to report.
    public func total(meter: MeterDefinition, rollups: [(windowStart: Int64, groupKey: String, state: MeterState)], distinct: [DistinctValue]) -> Quantity? {
        let range = windowRange
        let subjectName = subjectDimension(of: meter)
        func included(_ windowStart: Int64, _ groupKey: String) -> Bool {
            guard windowStart >= range.from && windowStart < range.to else { return false }
            guard let subject, let subjectName else { return true }
            return GroupKey.decode(groupKey)?[subjectName] == subject
        }
        var state = MeterState()
        for row in rollups where included(row.windowStart, row.groupKey) { state.merge(row.state) }
        let values = Set(distinct.filter { included($0.key.windowStart, $0.key.groupKey) }.map(\.value))
        return state.value(of: meter.aggregation, distinctValues: values.count)
    }

    /// Folds minute rollups (and, for UNIQUE_COUNT, their distinct values) into the answer,
    /// ordered by window then group. Windows and groups with no events are absent.
    public func evaluate(meter: MeterDefinition, rollups: [(windowStart: Int64, groupKey: String, state: MeterState)], distinct: [DistinctValue]) -> [Point] {
        let keep = groupBy.map(Set.init) ?? Set(meter.groupBy.keys)
        let subjectName = subjectDimension(of: meter)
        let range = windowRange
        func project(_ groupKey: String) -> [String: String]? {
            guard let dimensions = GroupKey.decode(groupKey) else { return nil }
            if let subject, let subjectName, dimensions[subjectName] != subject { return nil }
            return dimensions.filter { keep.contains($0.key) }
        }
        struct Cell: Hashable { var window: Int64; var group: String }
        var states: [Cell: MeterState] = [:]
        var groups: [String: [String: String]] = [:]
        for row in rollups where row.windowStart >= range.from && row.windowStart < range.to {
            guard let group = project(row.groupKey) else { continue }
            let key = GroupKey.encode(group)
            groups[key] = group
            states[Cell(window: window.bucketStart(containing: row.windowStart), group: key), default: MeterState()].merge(row.state)
        }
        var distinctSets: [Cell: Set<String>] = [:]
        if meter.aggregation == .uniqueCount {
            for item in distinct where item.key.windowStart >= range.from && item.key.windowStart < range.to {
                guard let group = project(item.key.groupKey) else { continue }
                distinctSets[Cell(window: window.bucketStart(containing: item.key.windowStart), group: GroupKey.encode(group)), default: []].insert(item.value)
            }
        }
        return states.compactMap { cell, state -> Point? in
            guard let value = state.value(of: meter.aggregation, distinctValues: distinctSets[cell]?.count ?? 0) else { return nil }
            return Point(windowStart: cell.window, group: groups[cell.group] ?? [:], value: value)
        }.sorted { ($0.windowStart, GroupKey.encode($0.group)) < ($1.windowStart, GroupKey.encode($1.group)) }
    }
}
