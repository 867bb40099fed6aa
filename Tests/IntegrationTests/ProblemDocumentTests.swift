import Core
@testable import HTTPFront
import Testing

/// The problem+json body: every member, in key order, the same bytes whether written directly
/// or through the general JSON writer (as with extension members).
@Suite struct ProblemDocumentTests {
    static let errors: [TallyError] = [
        TallyError(.rateLimited, "the tenant rate limit of 500 requests per 1 s is spent; retry after Retry-After seconds"),
        TallyError(.invalidAPIKey, "the API key is not valid"),
        TallyError(.validationFailed, "\"quoted\" and \\ and a\ttab and é/ü", field: "data.amount"),
    ]

    @Test(arguments: errors, ["req_01J0000000000000000000000", ""])
    func directBytesAreTheGeneralWritersBytes(error: TallyError, requestID: String) throws {
        let bytes = ProblemResponse.document(error, requestID: requestID, extra: [:])
        #expect(bytes == JSONWriter.encode(.object(ProblemResponse.members(error, requestID: requestID, extra: [:]))))
        let parsed = try JSONParser.parse(bytes)
        var expected: [String: JSONValue] = [
            "type": .string("urn:tally:problem:" + error.code.rawValue), "title": .string(error.code.title),
            "status": .number(Double(error.code.status)), "detail": .string(error.detail), "code": .string(error.code.rawValue),
        ]
        if let field = error.field { expected["field"] = .string(field) }
        if !requestID.isEmpty { expected["request_id"] = .string(requestID) }
        #expect(parsed == .object(expected))
    }

    @Test func extraMembersJoinInKeyOrderAndCannotReplaceStandardOnes() throws {
        let error = TallyError(.rateLimited, "spent")
        let bytes = ProblemResponse.document(error, requestID: "req_1", extra: ["retry_after": .number(3), "code": .string("spoofed")])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == #"{"code":"rate_limited","detail":"spent","request_id":"req_1","retry_after":3,"status":429,"title":"Rate limited","type":"urn:tally:problem:rate_limited"}"#)
    }
}
