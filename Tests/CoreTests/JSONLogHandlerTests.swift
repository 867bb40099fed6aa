import Core
import Foundation
import Logging
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
}
