import Core
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Generates the `req_…` ids of requests that bring none: the identifier layout (48 bits of
/// milliseconds, then 80 bits), where the 80 bits are a random start drawn once per process plus
/// a counter.
///
/// Unique within a process by the counter and across processes by the random start, without
/// the two `getrandom(2)` calls a fully random id costs on every request. Request ids label log
/// lines; nothing secret rests on them.
final class RequestIDSource: Sendable {
    private let high: UInt16
    private let start: UInt64
    private let counter = Atomic<UInt64>(0)

    init() {
        var generator = SystemRandomNumberGenerator()
        high = UInt16(truncatingIfNeeded: generator.next())
        start = generator.next()
    }

    func next(at date: Date = Date()) -> Identifier<RequestKind> {
        let count = counter.add(1, ordering: .relaxed).newValue
        return .make(at: date, randomHigh: high, randomLow: start &+ count)
    }
}
