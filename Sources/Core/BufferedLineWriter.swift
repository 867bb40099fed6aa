#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Log lines bound for a file descriptor, written in batches: a line joins a buffer, and the
/// buffer is written every `interval`, when it passes `limit` bytes (by the writer's own queue,
/// not by the thread that filled it), at once when a line is `urgent` (warnings and errors), and
/// at `flush()` (the server calls it at exit).
///
/// A server writing one access line per request spends a `write(2)` per request without this
/// (about a twentieth of a small request's CPU). Request threads only append under a short
/// lock: a batch is swapped out and written under a second lock they never wait on (unless a
/// line is urgent, or the buffer reaches 16 times `limit` because the descriptor is too slow,
/// which makes the writer that got there write it: memory stays bounded). The cost: an info
/// line reaches the log up to `interval` late, and a process killed with SIGKILL loses at most
/// that much of them. Lines are never split or interleaved, and batches are written in order:
/// each line is appended whole, and a batch is taken and written under the one output lock.
public final class BufferedLineWriter: Sendable {
    private struct Pending {
        var bytes: [UInt8] = []
        /// A written batch's storage, kept for the next one (its capacity is reused).
        var spare: [UInt8] = []
        /// A flush for a full buffer is on the queue already.
        var flushQueued = false
    }

    private enum Action { case none, queue, now }

    private let fileDescriptor: Int32
    private let limit: Int
    private let pending = Mutex(Pending())
    /// Held while one batch is taken and written: batches reach the descriptor whole, in order.
    private let output = Mutex(())
    /// Where full buffers and the timer are written from (serial).
    private let queue: DispatchQueue
    /// Set up once in `init`, cancelled in `deinit`; Dispatch serializes its handler.
    private nonisolated(unsafe) let timer: any DispatchSourceTimer

    public init(
        fileDescriptor: Int32, limit: Int = 64 * 1024, interval: Duration = .milliseconds(100),
        queue: DispatchQueue = DispatchQueue(label: "tally.log-flush")
    ) {
        self.fileDescriptor = fileDescriptor
        self.limit = limit
        self.queue = queue
        timer = DispatchSource.makeTimerSource(queue: queue)
        let period = DispatchTimeInterval.nanoseconds(Int(interval.totalNanoseconds))
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Adds one whole line (with its newline). An urgent line is written before this returns,
    /// with everything buffered before it; a full buffer is handed to the writer's queue.
    public func write(_ line: [UInt8], urgent: Bool) {
        let action = pending.withLock { pending -> Action in
            pending.bytes.append(contentsOf: line)
            if urgent || pending.bytes.count >= limit * 16 { return .now }
            guard pending.bytes.count >= limit, !pending.flushQueued else { return .none }
            pending.flushQueued = true
            return .queue
        }
        switch action {
        case .none: break
        case .queue: queue.async { [weak self] in self?.flush() }
        case .now: flush()
        }
    }

    /// Writes everything buffered now.
    public func flush() {
        output.withLock { _ in
            var batch = pending.withLock { pending -> [UInt8] in
                pending.flushQueued = false
                var taken = pending.spare
                swap(&taken, &pending.bytes)
                pending.spare = []
                return taken
            }
            guard !batch.isEmpty else { return }
            Self.drain(batch, to: fileDescriptor)
            batch.removeAll(keepingCapacity: true)
            pending.withLock { $0.spare = batch }
        }
    }

    private static func drain(_ batch: [UInt8], to fileDescriptor: Int32) {
        batch.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = systemWrite(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    break  // a closed or full log stream drops the batch rather than stall requests
                }
                offset += written
            }
        }
    }
}

/// `write(2)` (a file-level name: inside the type `write` is the method).
private func systemWrite(_ fileDescriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fileDescriptor, bytes, count)
}
