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
/// buffer is written when it passes `limit` bytes, when a line is `urgent` (warnings and
/// errors), every `interval`, and at `flush()` (the server calls it at exit).
///
/// A server writing one access line per request spends a `write(2)` per request without this
/// (about a twentieth of a small request's CPU). The cost: an info line reaches the log up to
/// `interval` late, and a process killed with SIGKILL loses at most that much of them.
/// Lines are never split or interleaved: each is appended whole under the lock.
public final class BufferedLineWriter: Sendable {
    private let fileDescriptor: Int32
    private let limit: Int
    private let buffer = Mutex<[UInt8]>([])
    /// Set up once in `init`, cancelled in `deinit`; Dispatch serializes its handler.
    private nonisolated(unsafe) let timer: any DispatchSourceTimer

    public init(fileDescriptor: Int32, limit: Int = 64 * 1024, interval: Duration = .milliseconds(100)) {
        self.fileDescriptor = fileDescriptor
        self.limit = limit
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "tally.log-flush"))
        let period = DispatchTimeInterval.nanoseconds(Int(interval.totalNanoseconds))
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Adds one whole line (with its newline); writes everything buffered at once when the
    /// buffer is full or the line is `urgent`.
    public func write(_ line: [UInt8], urgent: Bool) {
        buffer.withLock { buffer in
            buffer.append(contentsOf: line)
            if urgent || buffer.count >= limit { Self.drain(&buffer, to: fileDescriptor) }
        }
    }

    /// Writes everything buffered now.
    public func flush() {
        buffer.withLock { Self.drain(&$0, to: fileDescriptor) }
    }

    private static func drain(_ buffer: inout [UInt8], to fileDescriptor: Int32) {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
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
        buffer.removeAll(keepingCapacity: true)
    }
}

/// `write(2)` (a file-level name: inside the type `write` is the method).
private func systemWrite(_ fileDescriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fileDescriptor, bytes, count)
}
