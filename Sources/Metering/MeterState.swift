/// The mergeable summary of many readings for one meter, window and group: what a rollup row
/// holds. `apply` and `merge` are exact, commutative and associative, so minute rollups combine
/// into hours and days, and partial results from many nodes combine, with the same answer.
public struct MeterState: Sendable, Equatable {
    /// The value of the latest event: latest by event time, then by event id, so ties resolve the
    /// same way whatever order events arrive in.
    public struct Latest: Sendable, Equatable {
        public var time: Int64
        public var eventID: String
        public var value: Quantity

        public init(time: Int64, eventID: String, value: Quantity) {
            self.time = time
            self.eventID = eventID
            self.value = value
        }

        func isAfter(_ other: Latest) -> Bool {
            time != other.time ? time > other.time : eventID > other.eventID
        }
    }

    public var count: Int64 = 0
    public var sum: Quantity = .zero
    public var min: Quantity?
    public var max: Quantity?
    public var latest: Latest?

    public init() {}

    /// Folds one reading in; `false` (and no change) if the sum would leave Int128.
    @discardableResult
    public mutating func apply(_ reading: MeterReading) -> Bool {
        guard case .number(let value) = reading.value else {
            count += 1  // COUNT and UNIQUE_COUNT readings count events; distinct values are kept by storage
            return true
        }
        guard let total = sum.adding(value) else { return false }
        count += 1
        sum = total
        min = Swift.min(min ?? value, value)
        max = Swift.max(max ?? value, value)
        let candidate = Latest(time: reading.time, eventID: reading.eventID, value: value)
        if latest.map({ candidate.isAfter($0) }) ?? true { latest = candidate }
        return true
    }

    /// Folds another state in; `false` (and no change) if the sum would leave Int128.
    @discardableResult
    public mutating func merge(_ other: MeterState) -> Bool {
        guard let total = sum.adding(other.sum) else { return false }
        count += other.count
        sum = total
        if let otherMin = other.min { min = Swift.min(min ?? otherMin, otherMin) }
        if let otherMax = other.max { max = Swift.max(max ?? otherMax, otherMax) }
        if let otherLatest = other.latest, latest.map({ otherLatest.isAfter($0) }) ?? true { latest = otherLatest }
        return true
    }

    /// The meter's value; `nil` when there is nothing to report (MIN/MAX/AVG/LATEST of no events).
    /// AVG is the exact mean rounded half-to-even to 9 decimals. UNIQUE_COUNT needs the number of
    /// distinct values, which storage counts.
    public func value(of aggregation: Aggregation, distinctValues: Int = 0) -> Quantity? {
        switch aggregation {
        case .count: Quantity(billionths: Int128(count) * Quantity.one.billionths)
        case .sum: sum
        case .min: min
        case .max: max
        case .latest: latest?.value
        case .uniqueCount: Quantity(billionths: Int128(distinctValues) * Quantity.one.billionths)
        case .avg: count == 0 ? nil : Quantity(billionths: Self.divideHalfEven(sum.billionths, by: Int128(count)))
        }
    }

    /// `dividend / divisor` rounded half-to-even (banker's rounding), exactly.
    public static func divideHalfEven(_ dividend: Int128, by divisor: Int128) -> Int128 {
        let quotient = dividend / divisor
        let remainder = dividend % divisor
        let twice = (remainder < 0 ? -remainder : remainder) * 2
        let magnitude = divisor < 0 ? -divisor : divisor
        guard twice >= magnitude else { return quotient }
        let awayFromZero: Int128 = (dividend < 0) != (divisor < 0) ? -1 : 1
        if twice > magnitude || quotient % 2 != 0 { return quotient + awayFromZero }
        return quotient
    }
}
