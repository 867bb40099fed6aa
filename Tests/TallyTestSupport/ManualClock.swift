import Core
import Foundation
import Synchronization

/// A clock tests move by hand.
public final class ManualClock: TallyClock, Sendable {
    let current: Mutex<Date>

    public init(_ start: Date) { current = Mutex(start) }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    public func set(_ date: Date) { current.withLock { $0 = date } }
}
