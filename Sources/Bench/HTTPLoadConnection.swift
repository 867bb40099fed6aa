import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection that sends requests one after another and reads each
/// response whole: what a benchmark needs to time each request exactly.
///
/// Hand-written on SwiftNIO's HTTP/1 codec rather than async-http-client: a load generator wants
/// no pool, no redirects and no per-request allocation beyond its body, and async-http-client
/// (with swift-nio-http2 and swift-nio-extras) would add minutes to every clean build of the
/// default target graph that `tally bench` lives in.
public enum HTTPLoadConnection {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    /// Connects, runs `body` with the connection, and closes it.
    public static func with<T: Sendable>(
        host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (HTTPLoadConnection.Session) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(Session(inbound: inbound.makeAsyncIterator(), outbound: outbound, host: host))
        }
    }

    /// The open connection inside `with`.
    public final class Session {
        private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
        private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
        private let host: String

        init(inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, host: String) {
            self.inbound = inbound
            self.outbound = outbound
            self.host = host
        }

        /// Sends one request and waits for its whole response.
        public func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Reply {
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: host)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
            if let body {
                try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(body)), .end(nil)])
            } else {
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
            var status = 0
            var headers = HTTPHeaders()
            var collected = ByteBuffer()
            while let part = try await inbound.next() {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    headers = response.headers
                case .body(var chunk):
                    collected.writeBuffer(&chunk)
                case .end:
                    return Reply(status: status, headers: headers, body: collected)
                }
            }
            throw HTTPLoadError.connectionClosed
        }
    }
}

public struct HTTPLoadError: Error, Sendable, CustomStringConvertible {
    public let description: String
    static let connectionClosed = HTTPLoadError(description: "the server closed the connection mid-response")
}
