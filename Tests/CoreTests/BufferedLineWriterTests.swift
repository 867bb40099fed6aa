import Core
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

    @Test func linesWaitForFlushUrgentLinesAndFullBuffersGoAtOnce() throws {
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
        #expect(sink.text.hasSuffix("four\n" + String(repeating: "x", count: 70) + "\n"))
        writer.write(Array("five\n".utf8), urgent: false)
        writer.flush()
        #expect(sink.text.hasSuffix("\nfive\n"))
        #expect(sink.text.split(separator: "\n").count == 6)
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
