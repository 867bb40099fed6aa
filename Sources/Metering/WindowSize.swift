/// The fixed window sizes meters aggregate over, and the pure arithmetic of their buckets.
///
/// Buckets are aligned to the Unix epoch in UTC; callers that report in a time zone convert the
/// bucket start, never the arithmetic, so a bucket never moves when a zone changes its offset.
public enum WindowSize: String, Sendable, CaseIterable, Codable {
    case minute, hour, day

    /// The window's length in seconds.
    public var seconds: Int64 {
        switch self {
        case .minute: 60
        case .hour: 3_600
        case .day: 86_400
        }
    }

    /// The start (Unix seconds) of the bucket that holds `timestamp` (Unix seconds),
    /// flooring toward negative infinity so instants before 1970 land in the right bucket.
    public func bucketStart(containing timestamp: Int64) -> Int64 {
        let remainder = timestamp % seconds
        return remainder >= 0 ? timestamp - remainder : timestamp - remainder - seconds
    }

    /// The bucket starts from the one holding `from` up to, not including, `to`.
    public func bucketStarts(from: Int64, to: Int64) -> StrideTo<Int64> {
        stride(from: bucketStart(containing: from), to: to, by: Int(seconds))
    }
}
