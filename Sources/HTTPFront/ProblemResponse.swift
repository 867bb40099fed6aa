import Core
import HTTPTypes
import Hummingbird
import NIOCore

/// Renders errors as RFC 9457 `application/problem+json`, the one place errors become responses.
///
/// Members: `type` (`urn:tally:problem:<code>`), `title`, `status`, `detail`, `code` (stable),
/// `field` (the input at fault, when one is), `request_id`; extensions may add more.
public enum ProblemResponse {
    /// The media type of every error body.
    public static let contentType = "application/problem+json"

    /// The response for a `TallyError`, with optional extra members.
    public static func make(_ error: TallyError, requestID: String, extra: [String: JSONValue] = [:], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        if error.code == .missingCredentials || error.code == .invalidAPIKey || error.code == .apiKeyRevoked || error.code == .apiKeyExpired {
            fields[.wwwAuthenticate] = "Bearer realm=\"tally\""
        }
        return Response(
            status: .init(code: error.code.status), headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: document(error, requestID: requestID, extra: extra)))
        )
    }

    /// The problem as a stored response (for Idempotency-Key replay).
    public static func stored(_ error: TallyError, requestID: String, extra: [String: JSONValue] = [:]) -> StoredResponse {
        StoredResponse(status: error.code.status, contentType: contentType, body: document(error, requestID: requestID, extra: extra))
    }

    /// The problem document's bytes, members in key order (as before, when `JSONEncoder` with
    /// sorted keys wrote them). Written by `JSONWriter`: refusals (429s above all) are answered
    /// at the rate they arrive, and the generic encoder was an eighth of a refusal's CPU.
    static func document(_ error: TallyError, requestID: String, extra: [String: JSONValue]) -> [UInt8] {
        var writer = JSONWriter(capacity: 192 + error.detail.utf8.count)
        guard extra.isEmpty else {
            writer.write(.object(members(error, requestID: requestID, extra: extra)))
            return writer.bytes
        }
        // The standard members alone, in key order, without a dictionary.
        writer.raw("{")
        writer.key("code")
        writer.write(error.code.rawValue)
        writer.raw(",")
        writer.key("detail")
        writer.write(error.detail)
        if let field = error.field {
            writer.raw(",")
            writer.key("field")
            writer.write(field)
        }
        if !requestID.isEmpty {
            writer.raw(",")
            writer.key("request_id")
            writer.write(requestID)
        }
        writer.raw(",")
        writer.key("status")
        writer.write(error.code.status)
        writer.raw(",")
        writer.key("title")
        writer.write(error.code.title)
        writer.raw(",")
        writer.key("type")
        writer.write(typeURN(error.code))
        writer.raw("}")
        return writer.bytes
    }

    /// The document as a JSON object: `extra`, then the standard members over it.
    static func members(_ error: TallyError, requestID: String, extra: [String: JSONValue]) -> [String: JSONValue] {
        var body = extra
        body["type"] = .string(typeURN(error.code))
        body["title"] = .string(error.code.title)
        body["status"] = .number(Double(error.code.status))
        body["detail"] = .string(error.detail)
        body["code"] = .string(error.code.rawValue)
        if let field = error.field { body["field"] = .string(field) }
        if !requestID.isEmpty { body["request_id"] = .string(requestID) }
        return body
    }

    /// `urn:tally:problem:<code>`, the problem's `type`.
    static func typeURN(_ code: TallyError.Code) -> String { "urn:tally:problem:" + code.rawValue }
}

extension TallyError.Code {
    /// A dependency (database, Redis) is not ready: readiness and shed requests.
    public static let dependencyUnavailable = TallyError.Code("dependency_unavailable", status: 503, title: "Dependency unavailable")
}
