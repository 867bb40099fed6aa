import NIOCore
import NIOPosix

/// Runs `RequestLoopHandler`s: N keep-alive connections sending one fixed request.
public struct RequestLoad: Sendable {
    public var host: String
    public var port: Int
    public var connections: Int
    public var duration: Duration
    /// Per connection: start requests at most this often (`nil`: back to back). Paced
    /// connections spread their first requests evenly over one interval.
    public var interval: Duration?
    /// Where the connections run (a group of their own keeps one load's answers from queueing
    /// behind another's in the client).
    public var group: any EventLoopGroup

    public init(
        host: String, port: Int, connections: Int, duration: Duration, interval: Duration? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.connections = connections
        self.duration = duration
        self.interval = interval
        self.group = group
    }

    /// The full HTTP/1.1 request, rendered once.
    public static func render(method: String, path: String, host: String, token: String, body: String?) -> ByteBuffer {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nAuthorization: Bearer \(token)\r\n"
        if let body {
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            text += "Content-Length: 0\r\n\r\n"
        }
        return ByteBuffer(string: text)
    }

    /// How long connection `index` (of `connections`) waits before its first request: paced
    /// connections start evenly spread over one interval, unpaced ones at once.
    public static func firstDelay(connection index: Int, of connections: Int, interval: Duration?) -> Duration {
        guard let interval, connections > 0 else { return .zero }
        return interval * index / connections
    }

    /// Sends `request` on every connection until the duration is over; returns what was seen
    /// and the seconds it took.
    public func run(_ request: ByteBuffer) async throws -> (stats: RequestLoopStats, seconds: Double) {
        let started = ContinuousClock.now
        let deadline = started + duration
        let stats = try await withThrowingTaskGroup(of: RequestLoopStats.self) { group in
            for index in 0..<connections {
                group.addTask {
                    let eventLoop = self.group.next()
                    let promise = eventLoop.makePromise(of: RequestLoopStats.self)
                    let (interval, host, port) = (self.interval, self.host, self.port)
                    let firstDelay = Self.firstDelay(connection: index, of: self.connections, interval: interval)
                    let channel = try await ClientBootstrap(group: eventLoop)
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseReader()))
                                try channel.pipeline.syncOperations.addHandler(
                                    RequestLoopHandler(request: request, deadline: deadline, interval: interval, firstDelay: firstDelay, promise: promise)
                                )
                            }
                        }
                        .connect(host: host, port: port).get()
                    let stats = try await promise.futureResult.get()
                    try? await channel.close().get()
                    return stats
                }
            }
            var total = RequestLoopStats()
            for try await stats in group { total.merge(stats) }
            return total
        }
        return (stats, (ContinuousClock.now - started).totalSeconds)
    }
}
