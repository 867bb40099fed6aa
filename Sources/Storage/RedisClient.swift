import Core
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A pooled Redis client over hiredis.
///
/// hiredis is a blocking C library, so every call runs on this client's own `NIOThreadPool`,
/// never on Swift concurrency's cooperative threads; the pool's size bounds both the threads
/// and the connections. `pipeline` sends a batch of commands in one round trip.
public final class RedisClient: Service, Sendable {
    /// Connection settings with their defaults.
    public struct Configuration: Sendable {
        public var url: RedisURL
        /// How long to wait for a TCP connection. Default 2 s.
        public var connectTimeout: Duration = .seconds(2)
        /// How long a read or write may block before the connection is dropped. Default 2 s.
        public var commandTimeout: Duration = .seconds(2)
        /// Threads, and so the most connections, at once. Default 8.
        public var maximumConnections = 8

        public init(url: RedisURL) { self.url = url }
    }

    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let idle = Mutex<[RedisConnection]>([])
    private let isShutDown = Mutex(false)
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        self.threadPool.start()
    }

    /// Sends one command; an error reply throws `RedisError.reply`.
    @discardableResult
    public func send(_ arguments: String...) async throws -> RedisValue {
        let reply = try await pipeline([arguments]).first ?? .null
        if case .error(let message) = reply { throw RedisError(.reply, message) }
        return reply
    }

    /// Sends every command in one round trip; error replies come back as `.error` values in place.
    public func pipeline(_ commands: [[String]]) async throws -> [RedisValue] {
        try await pipelineBytes(commands.map { $0.map { Array($0.utf8) } })
    }

    /// `pipeline` for binary arguments.
    public func pipelineBytes(_ commands: [[[UInt8]]]) async throws -> [RedisValue] {
        guard !isShutDown.withLock({ $0 }) else { throw RedisError(.shutdown, "the redis client is shut down") }
        do {
            return try await threadPool.runIfActive { [self] in
                let connection = try lease()
                do {
                    let replies = try connection.pipeline(commands)
                    giveBack(connection)
                    return replies
                } catch {
                    if !connection.isBroken { giveBack(connection) }
                    throw error
                }
            }
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw RedisError(.shutdown, "the redis client is shut down")
        }
    }

    private func lease() throws -> RedisConnection {
        if let connection = idle.withLock({ $0.popLast() }) { return connection }
        return try RedisConnection(url: configuration.url, connectTimeout: configuration.connectTimeout, commandTimeout: configuration.commandTimeout)
    }

    private func giveBack(_ connection: RedisConnection) {
        idle.withLock { $0.append(connection) }
    }

    /// Runs until graceful shutdown, then closes the connections and stops the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops the threads (waiting for calls in flight) and closes the idle connections.
    public func shutdown() async {
        let first = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        try? await threadPool.shutdownGracefully()
        idle.withLock { $0.removeAll() }
        logger.debug("redis client shut down")
    }
}
