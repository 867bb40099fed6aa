import Core
import HTTPTypes
import Hummingbird
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The problem document's bytes.
    static func document(_ error: TallyError, requestID: String, extra: [String: JSONValue]) -> [UInt8] {
        var body: [String: JSONValue] = extra
        body["type"] = .string("urn:tally:problem:\(error.code.rawValue)")
        body["title"] = .string(error.code.title)
        body["status"] = .number(Double(error.code.status))
        body["detail"] = .string(error.detail)
        body["code"] = .string(error.code.rawValue)
        if let field = error.field { body["field"] = .string(field) }
        if !requestID.isEmpty { body["request_id"] = .string(requestID) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(body)) ?? Data("{}".utf8))
    }
}

extension TallyError.Code {
    /// A dependency (database, Redis) is not ready: readiness and shed requests.
    public static let dependencyUnavailable = TallyError.Code("dependency_unavailable", status: 503, title: "Dependency unavailable")
}
