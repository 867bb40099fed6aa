import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import HTTPFront

/// The pause in a connection's pipeline, on an embedded channel whose clock the test moves:
/// the refusal goes out at once, the next request is held (and no read reaches the socket)
/// until the pause ends, then everything held comes through in order.
@Suite struct RefusalPauseHandlerTests {
    /// Counts the reads that get past the pause handler toward the socket.
    final class ReadCounter: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Connection {
        let channel: EmbeddedChannel
        let counter: ReadCounter
        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

        init(first: Duration = .milliseconds(10)) throws {
            counter = ReadCounter()
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandlers([counter, RefusalPauseHandler(pause: RefusalPause(first: first))])
        }

        func request(_ path: String) throws {
            try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: nil, path: path)))
            try channel.writeInbound(HTTPRequestPart.end(nil))
        }

        /// The paths of the request heads that came through so far.
        func delivered() throws -> [String] {
            var paths: [String] = []
            while let part = try channel.readInbound(as: HTTPRequestPart.self) {
                if case .head(let head) = part { paths.append(head.path ?? "") }
            }
            return paths
        }

        func answer(_ status: HTTPResponse.Status, retryAfter: String? = "1") throws {
            var fields = HTTPFields()
            if let retryAfter { fields[.retryAfter] = retryAfter }
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status, headerFields: fields)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }

        /// The statuses of the answers that went out so far.
        func sent() throws -> [Int] {
            var statuses: [Int] = []
            while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
                if case .head(let head) = part { statuses.append(head.status.code) }
            }
            return statuses
        }
    }

    @Test func aRefusalHoldsTheNextRequestUntilThePauseEnds() throws {
        let connection = try Connection()
        try connection.request("/a")
        #expect(try connection.delivered() == ["/a"])
        try connection.answer(.tooManyRequests)
        #expect(try connection.sent() == [429], "the refusal itself is not delayed")

        let readsBefore = connection.counter.reads
        try connection.request("/b")
        try connection.request("/c")
        connection.channel.read()
        #expect(try connection.delivered() == [], "held while paused")
        #expect(connection.counter.reads == readsBefore, "no read reaches the socket while paused")

        connection.loop.advanceTime(by: .milliseconds(9))
        #expect(try connection.delivered() == [])
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(try connection.delivered() == ["/b", "/c"], "in order, once the 10 ms are up")
        #expect(connection.counter.reads == readsBefore + 1, "the withheld read goes out")
        _ = try connection.channel.finish()
    }

    @Test func refusalsInARowPauseLongerAndAnAnswerStartsOver() throws {
        let connection = try Connection()
        try connection.answer(.tooManyRequests)
        connection.loop.advanceTime(by: .milliseconds(10))
        try connection.answer(.tooManyRequests)  // a second refusal in a row: 20 ms
        try connection.request("/b")
        connection.loop.advanceTime(by: .milliseconds(19))
        #expect(try connection.delivered() == [])
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(try connection.delivered() == ["/b"])

        try connection.answer(.ok)  // served: the count starts again
        try connection.request("/c")
        #expect(try connection.delivered() == ["/c"], "no pause after a 200")
        try connection.answer(.tooManyRequests)
        try connection.request("/d")
        connection.loop.advanceTime(by: .milliseconds(10))
        #expect(try connection.delivered() == ["/d"], "10 ms again, not 40")
        _ = try connection.channel.finish()
    }

    @Test func otherAnswersAndADisabledPauseHoldNothing() throws {
        let connection = try Connection()
        for status in [HTTPResponse.Status.ok, .unauthorized, .serviceUnavailable] {
            try connection.answer(status)
            try connection.request("/\(status.code)")
            #expect(try connection.delivered() == ["/\(status.code)"])
        }
        let off = try Connection(first: .zero)
        try off.answer(.tooManyRequests)
        try off.request("/next")
        #expect(try off.delivered() == ["/next"])
        _ = try connection.channel.finish()
        _ = try off.channel.finish()
    }

    @Test func aGracefulShutdownEndsThePauseAndServesWhatWasRead() throws {
        final class EventRecorder: ChannelInboundHandler, RemovableChannelHandler {
            typealias InboundIn = HTTPRequestPart
            var seen: [String] = []
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                if case .head(let head) = unwrapInboundIn(data) { seen.append(head.path ?? "") }
                context.fireChannelRead(data)
            }
            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if event is ChannelShouldQuiesceEvent { seen.append("quiesce") }
                context.fireUserInboundEventTriggered(event)
            }
        }
        let connection = try Connection()
        let recorder = EventRecorder()
        try connection.channel.pipeline.syncOperations.addHandler(recorder)
        try connection.answer(.tooManyRequests, retryAfter: "30")
        try connection.answer(.tooManyRequests, retryAfter: "30")  // paused for 20 ms now
        try connection.request("/held")
        #expect(recorder.seen == [])
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(recorder.seen == ["/held", "quiesce"], "the held request first, then the shutdown, without waiting")
        _ = try connection.channel.finish()
    }

    @Test func aConnectionClosedWhilePausedDropsWhatWasHeld() throws {
        let connection = try Connection()
        try connection.answer(.tooManyRequests, retryAfter: "30")
        try connection.request("/held")
        try connection.channel.close().wait()
        connection.loop.advanceTime(by: .seconds(31))
        #expect(try connection.delivered() == [], "nothing is delivered after the close")
    }
}
