import Core
import Foundation
import Metering
import Testing

@Suite struct CloudEventEnvelopeTests {
    let receivedAt: Int64 = 1_795_860_930_000_000

    func event(_ overrides: [String: JSONValue?] = [:]) -> JSONValue {
        var object: [String: JSONValue] = [
            "specversion": "1.0", "id": "evt-1", "source": "//api.example.com/billing", "type": "api.request",
            "subject": "customer-42", "time": "2026-11-28T10:00:00Z", "data": .object(["tokens": .number(12), "region": "eu"]),
        ]
        for (key, value) in overrides { object[key] = value }
        return .object(object)
    }

    @Test func aValidEventParses() throws {
        let parsed = try CloudEventEnvelope.parse(event(), receivedAt: receivedAt).get()
        #expect(parsed.id == "evt-1")
        #expect(parsed.source == "//api.example.com/billing")
        #expect(parsed.type == "api.request")
        #expect(parsed.subject == "customer-42")
        #expect(parsed.time == RFC3339.microseconds("2026-11-28T10:00:00Z"))
        #expect(parsed.data["region"] == "eu")
    }

    @Test func optionalAttributesDefault() throws {
        let parsed = try CloudEventEnvelope.parse(event(["time": nil, "subject": nil, "data": nil]), receivedAt: receivedAt).get()
        #expect(parsed.time == receivedAt)
        #expect(parsed.subject == nil)
        #expect(parsed.data.isEmpty)
        let extended = CloudEventEnvelope.parse(event(["traceparent": "00-abc", "datacontenttype": "application/json; charset=utf-8"]), receivedAt: receivedAt)
        #expect((try? extended.get()) != nil)
    }

    @Test(arguments: [
        (["specversion": nil], "missing_attribute", "specversion"),
        (["specversion": "0.3"], "unsupported_specversion", "specversion"),
        (["id": nil], "missing_attribute", "id"),
        (["id": ""], "invalid_attribute", "id"),
        (["id": .number(5)], "invalid_attribute", "id"),
        (["id": .string(String(repeating: "x", count: 257))], "invalid_attribute", "id"),
        (["source": nil], "missing_attribute", "source"),
        (["type": "bad\ntype"], "invalid_attribute", "type"),
        (["subject": .bool(true)], "invalid_attribute", "subject"),
        (["time": "yesterday"], "invalid_time", "time"),
        (["time": "2026-11-28T10:00:00"], "invalid_time", "time"),
        (["data": .array([])], "invalid_data", "data"),
        (["data": .number(3)], "invalid_data", "data"),
        (["datacontenttype": "text/plain"], "unsupported_data_content_type", "datacontenttype"),
        (["data_base64": "AAEC"], "unsupported_data_content_type", "data_base64"),
        (["Bad-Extension": "x"], "invalid_attribute", "Bad-Extension"),
        (["data": ["note": "a\u{0}b"]], "invalid_data", "data"),
        (["data": ["list": ["ok", ["k\u{0}": 1]]]], "invalid_data", "data"),
    ] as [([String: JSONValue?], String, String)])
    func badEventsNameTheirFault(overrides: [String: JSONValue?], code: String, field: String) {
        switch CloudEventEnvelope.parse(event(overrides), receivedAt: receivedAt) {
        case .success(let parsed): Issue.record("accepted \(parsed)")
        case .failure(let rejection):
            #expect(rejection.code == code)
            #expect(rejection.field == field)
        }
    }

    @Test func nonObjectsAreRejected() {
        #expect(throws: EventRejection("invalid_event", field: nil, "each event must be a JSON object")) {
            try CloudEventEnvelope.parse(.array([]), receivedAt: receivedAt).get()
        }
    }
}
