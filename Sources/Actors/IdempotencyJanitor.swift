import Core
import Logging
import ServiceLifecycle
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Deletes expired Idempotency-Key records every `interval`, in batches, so the table holds about
/// one TTL's worth of keys. Any number of nodes may run it: each batch deletes rows the others
/// have not locked.
public final class IdempotencyJanitor: Service, Sendable {
    private let store: any IdempotencyStore
    private let clock: any TallyClock
    private let interval: Duration
    private let batch: Int
    private let logger: Logger

    public init(store: any IdempotencyStore, clock: any TallyClock = SystemClock(), interval: Duration = .seconds(60), batch: Int = 5_000, logger: Logger) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.logger = logger
    }

    /// Purges until a batch comes back short; returns how many records went.
    @discardableResult
    public func purge() async -> Int {
        var total = 0
        do {
            while true {
                let deleted = try await store.purgeExpiredIdempotencyKeys(now: clock.now(), limit: batch)
                total += deleted
                if deleted < batch || Task.isCancelled { break }
            }
        } catch {
            logger.warning("could not purge expired idempotency keys", metadata: ["error": "\(error)"])
        }
        if total > 0 { logger.debug("purged expired idempotency keys", metadata: ["idempotency.purged": "\(total)"]) }
        return total
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await purge()
            do {
                try await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
    }
}
