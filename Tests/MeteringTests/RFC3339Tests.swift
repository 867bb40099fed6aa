import Foundation
import Metering
import Testing

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-28T10:15:30Z", Int64(1_795_860_930_000_000)),
        ("2026-11-28T10:15:30.5Z", Int64(1_795_860_930_500_000)),
        ("2026-11-28T10:15:30.123456789Z", Int64(1_795_860_930_123_456)),
        ("2026-11-28T12:15:30+02:00", Int64(1_795_860_930_000_000)),
        ("2026-11-28T05:45:30-04:30", Int64(1_795_860_930_000_000)),
        ("2024-02-29T00:00:00z", Int64(1_709_164_800_000_000)),
        ("1969-12-31T23:59:59.999999Z", Int64(-1)),
    ])
    func parses(text: String, micros: Int64) {
        #expect(RFC3339.microseconds(text) == micros)
    }

    @Test(arguments: [
        "2026-11-28", "2026-11-28T10:15:30", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-28T24:00:00Z",
        "2026-11-28T10:60:00Z", "2026-11-28T10:15:60Z", "2026-11-28T10:15:30.Z", "2026-11-28T10:15:30+0200",
        "2026-11-28T10:15:30Z ", "x026-11-28T10:15:30Z", "",
    ])
    func refuses(text: String) {
        #expect(RFC3339.microseconds(text) == nil)
    }

    @Test func agreesWithFoundationOnRandomInstants() {
        var generator = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        for _ in 0..<2000 {
            let seconds = Int64.random(in: -2_000_000_000...4_000_000_000, using: &generator)
            let text = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(RFC3339.microseconds(text) == seconds * 1_000_000, "\(text)")
            #expect(RFC3339.format(microseconds: seconds * 1_000_000) == text)
        }
    }

    @Test func formatRoundTrips() {
        for micros: Int64 in [0, 1, -1, 1_795_860_930_123_456, -86_400_000_001] {
            #expect(RFC3339.microseconds(RFC3339.format(microseconds: micros)) == micros)
        }
    }

    /// `append` writes after what the buffer holds, exactly what `format` answers.
    @Test func appendWritesWhatFormatAnswers() {
        for (micros, offset): (Int64, Int32) in [(0, 0), (1_795_860_930_123_456, 0), (-86_400_000_001, 0), (1_795_860_930_000_000, 19_800), (1_795_860_930_000_000, -3_600)] {
            var bytes = Array("\"x\":".utf8)
            RFC3339.append(microseconds: micros, offsetSeconds: offset, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "\"x\":" + RFC3339.format(microseconds: micros, offsetSeconds: offset))
        }
    }
}
