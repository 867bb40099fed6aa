import Histogram
import NIOCore

/// One benchmark connection that sends the same pre-rendered request again and again on its
/// event loop until a deadline, recording each response's status and latency: the load of
/// `tally bench check` and `tally bench fairness`. With `interval`, requests start on a fixed
/// schedule (one every `interval`, never bunched up to catch up after a slow answer, so the
/// offered rate is at most 1/interval); without, each starts as the previous one ends. A paced
/// connection can wait `firstDelay` before its first request, so that N connections spread
/// their starts over one interval instead of all sending at once.
final class RequestLoopHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponseReader.Response
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let deadline: ContinuousClock.Instant
    private let interval: Duration?
    private let firstDelay: Duration
    private let promise: EventLoopPromise<RequestLoopStats>
    private var stats = RequestLoopStats()
    private var sentAt = ContinuousClock.now
    private var nextStart = ContinuousClock.now
    private var finished = false

    init(
        request: ByteBuffer, deadline: ContinuousClock.Instant, interval: Duration?, firstDelay: Duration = .zero,
        promise: EventLoopPromise<RequestLoopStats>
    ) {
        self.request = request
        self.deadline = deadline
        self.interval = interval
        self.firstDelay = interval == nil ? .zero : firstDelay
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        nextStart = .now + firstDelay
        if firstDelay > .zero {
            sendLater(firstDelay, context: context)
        } else {
            send(context: context)
        }
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        guard ContinuousClock.now < deadline else {
            finish(context: context, error: nil)
            return
        }
        sentAt = .now
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response = unwrapInboundIn(data)
        stats.record(status: response.status, latencyMicros: (ContinuousClock.now - sentAt).totalMicroseconds)
        guard let interval else {
            send(context: context)
            return
        }
        nextStart = max(nextStart + interval, ContinuousClock.now)
        let delay = nextStart - ContinuousClock.now
        if delay <= .zero {
            send(context: context)
        } else {
            sendLater(delay, context: context)
        }
    }

    private func sendLater(_ delay: Duration, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(delay.totalNanoseconds)) {
            let (handler, context) = loopBound.value
            handler.send(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context: context, error: error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context, error: finished ? nil : HTTPLoadError.connectionClosed)
        context.fireChannelInactive()
    }

    private func finish(context: ChannelHandlerContext, error: (any Error)?) {
        guard !finished else { return }
        finished = true
        if error != nil { stats.connectionErrors += 1 }
        promise.succeed(stats)
        if error == nil { context.close(promise: nil) }
    }
}

/// What request loops saw: answers by status, and the latency of every answer.
public struct RequestLoopStats: Sendable {
    public var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    public var statuses: [Int: Int] = [:]
    public var connectionErrors = 0

    public var requests: Int { statuses.values.reduce(0, +) }

    mutating func record(status: Int, latencyMicros: Int64) {
        statuses[status, default: 0] += 1
        _ = latency.record(UInt64(max(0, latencyMicros)))
    }

    mutating func merge(_ other: RequestLoopStats) {
        latency.add(other.latency)
        statuses.merge(other.statuses, uniquingKeysWith: +)
        connectionErrors += other.connectionErrors
    }

    /// Latency percentile in milliseconds.
    public func milliseconds(_ percentile: Double) -> Double { Double(latency.valueAtPercentile(percentile)) / 1_000 }
}
