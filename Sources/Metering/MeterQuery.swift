import Core
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A question to a meter: its value per window (minute, hour or day) and group, over a range.
public struct MeterQuery: Sendable, Equatable {
    /// Range start and end in Unix seconds; the start is floored and the end ceiled to the window.
    public let from: Int64
    public let to: Int64
    public let window: WindowSize
    /// Dimensions to keep; the others are merged. `nil` keeps every dimension the meter has.
    public let groupBy: [String]?
    /// Only rows whose dimension that reads `subject` has this value.
    public let subject: String?
    /// The zone whose hours and days the windows follow; UTC when `nil`.
    public let timeZone: TimeZone?
    /// The windows reported; `nil` when the range is empty or spans more than `maxWindows`.
    public let grid: WindowGrid?

    /// The most windows one query may span.
    public static let maxWindows: Int64 = 10_000

    public init(from: Int64, to: Int64, window: WindowSize, groupBy: [String]? = nil, subject: String? = nil, timeZone: TimeZone? = nil) {
        self.from = from
        self.to = to
        self.window = window
        self.groupBy = groupBy
        self.subject = subject
        self.timeZone = timeZone
        guard from < to else {
            grid = nil
            return
        }
        grid = timeZone.map { WindowGrid.zoned(window, zone: $0, from: from, to: to, limit: Int(Self.maxWindows)) }
            ?? WindowGrid.utc(window, from: from, to: to, limit: Int(Self.maxWindows))
    }

    /// The rollup range to read: minute windows covering the query's windows. (Totals need no
    /// grid, so a UTC range too long to list window by window still has one.)
    public var windowRange: (from: Int64, to: Int64) {
        if let grid { return grid.range }
        guard from < to, timeZone == nil else { return (from, from) }
        return (window.bucketStart(containing: from), window.bucketStart(containing: to - 1) + window.seconds)
    }

    /// Checks the query against the meter; throws `invalid_parameter` naming the parameter.
    public func validate(for meter: MeterDefinition) throws(TallyError) {
        guard from < to else { throw TallyError(.invalidParameter, "from must be before to", field: "from") }
        guard grid != nil else {
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
        var state = MeterState()
        for row in rollups where selected(row.windowStart, row.groupKey, meter: meter) != nil { state.merge(row.state) }
        let values = Set(distinct.filter { selected($0.key.windowStart, $0.key.groupKey, meter: meter) != nil }.map(\.value))
        return state.value(of: meter.aggregation, distinctValues: values.count)
    }

    /// A row's dimensions when it lies in the range and passes the subject filter; `nil` otherwise.
    func selected(_ windowStart: Int64, _ groupKey: String, meter: MeterDefinition) -> [String: String]? {
        let range = windowRange
        guard windowStart >= range.from && windowStart < range.to, let dimensions = GroupKey.decode(groupKey) else { return nil }
        if let subject, let subjectName = subjectDimension(of: meter), dimensions[subjectName] != subject { return nil }
        return dimensions
    }

    /// Folds minute rollups (and, for UNIQUE_COUNT, their distinct values) into the answer,
    /// ordered by window then group. Windows and groups with no events are absent.
    public func evaluate(meter: MeterDefinition, rollups: [(windowStart: Int64, groupKey: String, state: MeterState)], distinct: [DistinctValue]) -> [Point] {
        let keep = groupBy.map(Set.init) ?? Set(meter.groupBy.keys)
        func project(_ windowStart: Int64, _ groupKey: String) -> [String: String]? {
            selected(windowStart, groupKey, meter: meter)?.filter { keep.contains($0.key) }
        }
        struct Cell: Hashable { var window: Int64; var group: String }
        var states: [Cell: MeterState] = [:]
        var groups: [String: [String: String]] = [:]
        for row in rollups {
            guard let group = project(row.windowStart, row.groupKey) else { continue }
            let key = GroupKey.encode(group)
            groups[key] = group
            guard let start = grid?.windowStart(containing: row.windowStart) else { continue }
            states[Cell(window: start, group: key), default: MeterState()].merge(row.state)
        }
        var distinctSets: [Cell: Set<String>] = [:]
        if meter.aggregation == .uniqueCount {
            for item in distinct {
                guard let group = project(item.key.windowStart, item.key.groupKey), let start = grid?.windowStart(containing: item.key.windowStart) else { continue }
                distinctSets[Cell(window: start, group: GroupKey.encode(group)), default: []].insert(item.value)
            }
        }
        return states.compactMap { cell, state -> Point? in
            guard let value = state.value(of: meter.aggregation, distinctValues: distinctSets[cell]?.count ?? 0) else { return nil }
            return Point(windowStart: cell.window, group: groups[cell.group] ?? [:], value: value)
        }.sorted { ($0.windowStart, GroupKey.encode($0.group)) < ($1.windowStart, GroupKey.encode($1.group)) }
    }
}
