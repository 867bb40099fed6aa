import Core
import Metering
import NIOCore
import NIOHTTP1
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One benchmark connection driven entirely on its event loop: when a response ends, the next
/// request is written from the same callback, with no task hop in between, so the load
/// generator costs as little CPU as it can on a machine it shares with the server it measures.
///
/// Requests are pre-rendered HTTP/1.1 bytes; responses are read by NIO's HTTP/1 decoder. A batch
/// that fails (non-200) is sent again unchanged, after `Retry-After` for 429 and 503, up to
/// `maxAttempts` times. If the connection breaks, the outcome carries the batch in flight so the
/// caller can send it again on a new connection.
final class LoadConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponseReader.Response
    typealias OutboundOut = ByteBuffer

    /// What the connection did, and the batch it was in the middle of if it broke.
    struct Outcome {
        var stats: WorkerStats
        var cursor: BenchEventSource.Cursor
        var pending: PendingBatch?
        var error: (any Error)?
    }

    struct PendingBatch {
        var batch: BenchEventSource.Batch
        var attempts: Int
    }

    private let source: BenchEventSource
    private var cursor: BenchEventSource.Cursor
    /// The request's head up to the Content-Length value, rendered once.
    private let requestHead: [UInt8]
    private let deadline: ContinuousClock.Instant
    private let budget: EventBudget
    private let batchSize: Int
    private let promise: EventLoopPromise<Outcome>
    private var stats = WorkerStats()
    private var pending: PendingBatch?
    private var sentAt = ContinuousClock.now
    private var finished = false

    init(
        source: BenchEventSource, cursor: BenchEventSource.Cursor, host: String, token: String, deadline: ContinuousClock.Instant,
        budget: EventBudget, pending: PendingBatch?, promise: EventLoopPromise<Outcome>
    ) {
        self.source = source
        self.cursor = cursor
        self.requestHead = Array(
            "POST /v1/events HTTP/1.1\r\nHost: \(host)\r\nAuthorization: Bearer \(token)\r\nContent-Type: \(source.contentType)\r\nContent-Length: ".utf8
        )
        self.deadline = deadline
        self.budget = budget
        self.batchSize = source.batchSize
        self.pending = pending
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
        context.fireChannelActive()
    }

    private func sendNext(context: ChannelHandlerContext) {
        if pending == nil {
            guard ContinuousClock.now < deadline, budget.take(batchSize) else {
                finish(context: context, error: nil)
                return
            }
            let time = RFC3339.format(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
            pending = PendingBatch(batch: source.batch(&cursor, time: time), attempts: 0)
        }
        guard let current = pending else { return }
        var buffer = context.channel.allocator.buffer(capacity: requestHead.count + 16 + current.batch.body.count)
        buffer.writeBytes(requestHead)
        buffer.writeString(String(current.batch.body.count))
        buffer.writeBytes([13, 10, 13, 10])
        buffer.writeBytes(current.batch.body)
        sentAt = ContinuousClock.now
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response = unwrapInboundIn(data)
        guard var current = pending else { return }
        let (status, retryAfter, body) = (response.status, response.retryAfter ?? 1, response.body)
        let micros = (ContinuousClock.now - sentAt).totalMicroseconds
        current.attempts += 1
        if status == 200, let counts = IngestReplyCounts.parse(body.readableBytesView) {
            stats.record(latencyMicros: micros, batch: current.batch, counts: counts, retried: current.attempts > 1)
            pending = nil
            sendNext(context: context)
            return
        }
        stats.failedResponses[status, default: 0] += 1
        if current.attempts >= IngestBenchmark.maxAttempts {
            stats.unacknowledged += current.batch.newEvents
            pending = nil
            sendNext(context: context)
            return
        }
        pending = current
        if status == 429 || status == 503 {
            let delay = TimeAmount.seconds(Int64(min(max(retryAfter, 1), 5)))
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let (handler, context) = loopBound.value
                handler.sendNext(context: context)
            }
        } else {
            sendNext(context: context)
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
        promise.succeed(Outcome(stats: stats, cursor: cursor, pending: error == nil ? nil : pending, error: error))
        if error == nil { context.close(promise: nil) }
    }
}

