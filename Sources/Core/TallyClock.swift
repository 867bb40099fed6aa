#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The source of "now" for every component, injected so tests can fix or move time.
public protocol TallyClock: Sendable {
    /// The current wall-clock instant.
    func now() -> Date
}

/// The real wall clock.
public struct SystemClock: TallyClock {
    public init() {}
    public func now() -> Date { Date() }
}

extension TallyClock {
    /// Now in whole milliseconds since the epoch (rounded toward the past), as job and webhook
    /// records store instants.
    public var nowMillis: Int64 { Int64((now().timeIntervalSince1970 * 1_000).rounded(.down)) }

    /// Now in whole seconds since the epoch (rounded toward the past), as billing and
    /// entitlement periods count.
    public var nowSeconds: Int64 { Int64(now().timeIntervalSince1970.rounded(.down)) }
}
