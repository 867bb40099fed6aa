import Core
import Dispatch
import Foundation
import Testing

@Suite struct BufferedLineWriterTests {
    /// A temporary file open for writing, and what it holds.
    final class Sink {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-lines-\(UUID().uuidString)").path
        let fileDescriptor: Int32
        init() { fileDescriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        deinit {
            close(fileDescriptor)
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func linesWaitForFlushUrgentLinesGoAtOnceFullBuffersSoon() async throws {
        let sink = Sink()
        let writer = BufferedLineWriter(fileDescriptor: sink.fileDescriptor, limit: 64, interval: .seconds(3600))
        writer.write(Array("one\n".utf8), urgent: false)
        writer.write(Array("two\n".utf8), urgent: false)
        #expect(sink.text == "")
        writer.write(Array("three: a warning\n".utf8), urgent: true)
        #expect(sink.text == "one\ntwo\nthree: a warning\n")  // in order, everything before it too
        writer.write(Array("four\n".utf8), urgent: false)
        #expect(sink.text == "one\ntwo\nthree: a warning\n")
        writer.write(Array(String(repeating: "x", count: 70).utf8) + [0x0A], urgent: false)  // passes the 64-byte limit
        // The writer's queue writes the full buffer; the timer is an hour away.
        let full = "four\n" + String(repeating: "x", count: 70) + "\n"
        let deadline = ContinuousClock.now + .seconds(10)
        while !sink.text.hasSuffix(full), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(sink.text == "one\ntwo\nthree: a warning\n" + full)
        writer.write(Array("five\n".utf8), urgent: false)
        writer.flush()
        #expect(sink.text.hasSuffix("\nfive\n"))
        #expect(sink.text.split(separator: "\n").count == 6)
    }

    /// A full buffer is the writer's queue's to write, not the request thread's; if the queue
    /// falls behind (here: suspended) and the buffer reaches 16 times the limit, the writer that
    /// gets there writes it, so memory stays bounded.
    @Test func fullBuffersGoToTheQueueAndSixteenLimitsToTheWriter() async throws {
        let sink = Sink()
        let queue = DispatchQueue(label: "test.log-flush")
        queue.suspend()
        let writer = BufferedLineWriter(fileDescriptor: sink.fileDescriptor, limit: 10, interval: .seconds(3600), queue: queue)
        let line = Array("0123456789abcdefghi\n".utf8)  // 20 bytes: two limits
        for _ in 0..<7 { writer.write(line, urgent: false) }  // 140 bytes: full, handed to the (stopped) queue
        #expect(sink.text == "")
        writer.write(line, urgent: false)  // 160 bytes: the cap
        #expect(sink.text == String(repeating: "0123456789abcdefghi\n", count: 8))
        writer.write(line, urgent: false)  // full again; the queued flush is still pending
        #expect(sink.text.count == 160)
        queue.resume()
        let deadline = ContinuousClock.now + .seconds(10)
        while sink.text.count < 180, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(sink.text == String(repeating: "0123456789abcdefghi\n", count: 9))
    }

    @Test func theTimerWritesIdleLines() async throws {
        let sink = Sink()
        let writer = BufferedLineWriter(fileDescriptor: sink.fileDescriptor, interval: .milliseconds(20))
        writer.write(Array("late\n".utf8), urgent: false)
        let deadline = ContinuousClock.now + .seconds(10)
        while sink.text.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(sink.text == "late\n")
    }

    @Test func concurrentLinesNeverInterleave() async throws {
        let sink = Sink()
        let writer = BufferedLineWriter(fileDescriptor: sink.fileDescriptor, limit: 1_000, interval: .seconds(3600))
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<500 { writer.write(Array("task \(task) line \(index) end\n".utf8), urgent: index % 97 == 0) }
                }
            }
        }
        writer.flush()
        let lines = sink.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 4_000)
        #expect(lines.allSatisfy { $0.hasPrefix("task ") && $0.hasSuffix(" end") })
    }
}
