import Core
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    @Test func linesAreJSONWithMetadata() throws {
        let line = JSONLogHandler.render(
            timestamp: "2026-11-28T00:00:00.000Z", level: .info, message: "said \"hi\"\n", label: "tally",
            metadata: ["request.id": "req_1", "tenant.id": .stringConvertible(42), "list": .array(["a", "b"])]
        )
        #expect(line.hasSuffix("}\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "said \"hi\"\n")
        #expect(object["level"] as? String == "info")
        #expect(object["request.id"] as? String == "req_1")
        #expect(object["tenant.id"] as? String == "42")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect(object["ts"] as? String == "2026-11-28T00:00:00.000Z")
    }

    @Test func controlCharactersAreEscaped() throws {
        let line = JSONLogHandler.render(timestamp: "t", level: .error, message: "\u{1}", label: "x", metadata: [:])
        #expect(line.contains("\\u0001"))
        _ = try JSONSerialization.jsonObject(with: Data(line.utf8))
    }

    @Test func handlerWritesOneLinePerEventWithTimestampAndMergedMetadata() throws {
        let lines = LineCapture()
        var logger = Logger(label: "tally") { label in JSONLogHandler(label: label, level: .debug) { lines.append($0) } }
        logger[metadataKey: "request.id"] = "req_1"
        let before = Date()
        logger.info("request", metadata: ["http.status": .stringConvertible(200), "request.id": "req_2"])
        logger.trace("below the level")
        let captured = lines.all
        try #require(captured.count == 1)
        #expect(captured[0].last == UInt8(ascii: "\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(captured[0])) as? [String: Any])
        #expect(object["request.id"] as? String == "req_2")  // the event's metadata wins
        #expect(object["http.status"] as? String == "200")
        #expect(object["logger"] as? String == "tally")
        let stamp = try #require(object["ts"] as? String)
        #expect(stamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(formatter.date(from: stamp))
        #expect(abs(parsed.timeIntervalSince(before)) < 60)
    }

    /// The access log's path (text fields already sorted) writes the very line `Logger` writes
    /// for the same fields as event metadata: the handler's metadata merged in key order, a
    /// field winning over metadata of the same key.
    @Test(arguments: [[:], ["request.id": "req_1"], ["a.first": "1", "request.id": "req_1", "zz.last": .stringConvertible(9), "http.route": "/own"]] as [Logger.Metadata])
    func sortedFieldsWriteTheLineLoggerWrites(metadata: Logger.Metadata) throws {
        let lines = LineCapture()
        var handler = JSONLogHandler(label: "tally", level: .info) { lines.append($0) }
        handler.metadata = metadata
        let fields: [(key: String, value: String)] = [
            ("api_key.id", "key_1"), ("duration.ms", "0.125"), ("http.method", "POST"), ("http.route", "/v1/x \"y\""), ("tenant.id", "ten_1"),
        ]
        handler.log(level: .info, message: "request", sortedFields: fields)
        var logger = Logger(label: "tally") { _ in handler }
        logger.logLevel = .info
        logger.info("request", metadata: Logger.Metadata(uniqueKeysWithValues: fields.map { ($0.key, .string($0.value)) }))
        handler.log(level: .debug, message: "below the level", sortedFields: fields)
        let captured = lines.all
        try #require(captured.count == 2)
        // Everything after the timestamp is the same.
        let tails = captured.map { String(decoding: $0, as: UTF8.self).split(separator: ",", maxSplits: 1)[1] }
        #expect(tails[0] == tails[1])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(captured[0])) as? [String: Any])
        #expect(object["http.route"] as? String == "/v1/x \"y\"")
        #expect(object.count == 4 + fields.count + metadata.keys.filter { key in !fields.contains { $0.key == key } }.count)
    }
}

/// Lines a test handler wrote.
final class LineCapture: Sendable {
    private let lines = Mutex<[[UInt8]]>([])
    func append(_ line: [UInt8]) { lines.withLock { $0.append(line) } }
    var all: [[UInt8]] { lines.withLock { $0 } }
}
