import Core
import Logging
import ServiceLifecycle
import Storage
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Batches API keys' `last_used_at` updates: requests note a use in memory, and one write per
/// interval stores the latest use of every key, instead of one write per request.
public final class KeyUsageRecorder: Service, Sendable {
    private let pending = Mutex<[APIKeyID: Date]>([:])
    private let store: any PlatformStore
    private let interval: Duration
    private let logger: Logger

    public init(store: any PlatformStore, interval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Notes that `key` was used at `date`.
    public func noteUse(of key: APIKeyID, at date: Date) {
        pending.withLock { pending in
            if let previous = pending[key], previous >= date { return }
            pending[key] = date
        }
    }

    /// Writes every noted use now.
    public func flush() async {
        let batch = pending.withLock { pending in
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            return batch
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.recordKeyUsage(batch)
        } catch {
            // Put the uses back (keeping any newer one) so the next flush retries them.
            pending.withLock { pending in
                pending.merge(batch) { newer, older in max(newer, older) }
            }
            logger.warning("could not record API key usage", metadata: ["error": "\(error)"])
        }
    }

    /// Flushes every interval until graceful shutdown, then flushes once more.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await flush()
        }
        await flush()
    }
}
