import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Leaves a connection unread for a while after it is answered 429 (`RefusalPause` says how
/// long). It sits in each HTTP/1 connection's pipeline after HTTP decoding: it watches the
/// answers going out, and once a refusal has been sent it withholds reads from the socket and
/// holds whatever request parts had already been read, then lets them through, in order, when
/// the pause ends. The refusal itself is sent at once; only the next request waits.
///
/// Everything happens on the connection's event loop; a paused connection costs a timer. A
/// graceful shutdown ends every pause at once, so what was read is answered before the close.
final class RefusalPauseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What arrived while paused, to pass on in order afterwards.
    private enum Held {
        case part(HTTPRequestPart)
        case readComplete
        case event(Any)
    }

    private var pause: RefusalPause
    /// The pause to begin when the answer being written ends.
    private var pending: Duration?
    private var resume: Scheduled<Void>?
    private var held: [Held] = []
    /// A read was asked for while paused.
    private var readWanted = false

    private var paused: Bool { resume != nil }

    init(pause: RefusalPause) {
        self.pause = pause
    }

    // MARK: answers going out

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            let status = head.status.code
            // Only a refusal's fields are looked at: every other answer just resets the count.
            pending = pause.answered(status: status, retryAfterSeconds: status == 429 ? head.headerFields[.retryAfter].flatMap { Int($0) } : nil)
        case .end:
            if let duration = pending {
                pending = nil
                begin(duration, context: context)
            }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readWanted = true
        } else {
            context.read()
        }
    }

    // MARK: requests coming in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if paused {
            held.append(.part(unwrapInboundIn(data)))
        } else {
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if paused {
            held.append(.readComplete)
        } else {
            context.fireChannelReadComplete()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server is shutting down gracefully: what was read is served now (and the
        // connection closed after it), not left waiting out a pause.
        if paused, event is ChannelShouldQuiesceEvent {
            resume?.cancel()
            end(context: context)
        }
        if paused {
            held.append(.event(event))
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// A closed connection needs no pause: what was held goes nowhere (its client is gone).
    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    // MARK: the pause

    /// Pauses for `duration` from now (a later refusal during a pause restarts it).
    private func begin(_ duration: Duration, context: ChannelHandlerContext) {
        resume?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        resume = context.eventLoop.scheduleTask(in: .nanoseconds(duration.totalNanoseconds)) {
            let (handler, context) = loopBound.value
            handler.end(context: context)
        }
    }

    /// Passes on what was held, in the order it came, then the read that was withheld.
    private func end(context: ChannelHandlerContext) {
        resume = nil
        var replay = held[...]
        held.removeAll()
        while let item = replay.popFirst() {
            switch item {
            case .part(let part): context.fireChannelRead(wrapInboundOut(part))
            case .readComplete: context.fireChannelReadComplete()
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
            // A refusal answered while replaying paused the connection again: hold the rest.
            if paused {
                held.insert(contentsOf: replay, at: 0)
                return
            }
        }
        if readWanted {
            readWanted = false
            context.read()
        }
    }

    private func cancel() {
        resume?.cancel()
        resume = nil
        held.removeAll()
        readWanted = false
    }
}
