import Core
import HTTPTypes
import Hummingbird
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reading JSON request bodies and writing JSON responses, with Tally's error mapping.
enum JSONBody {
    /// Decodes the body as `T`: 415 unless JSON, 413 past `limit`, 400 `malformed_json` for
    /// broken syntax, 422 `validation_failed` naming the field for a wrong type or missing field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer = try await body(of: request, limit: limit)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw map(error)
        } catch let error as TallyError {
            throw error
        }
    }

    /// The body as a `JSONValue`, by `JSONParser` (no Codable): 415 unless JSON, 413 past
    /// `limit`, 400 `malformed_json`. For routes that validate the value themselves.
    static func value(from request: Request, limit: Int) async throws -> JSONValue {
        let buffer = try await body(of: request, limit: limit)
        do {
            return try buffer.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            throw TallyError(.malformedJSON, "the request body is not valid JSON")
        }
    }

    /// The JSON body's bytes: 415 unless the media type is JSON, 413 past `limit`, 400 when empty.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        if let contentType = request.headers.single(.contentType) {
            let media = MediaType.essence(of: contentType)
            guard media == "application/json" || media.hasSuffix("+json") else {
                throw TallyError(.unsupportedMediaType, "send the body as application/json")
            }
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { throw TallyError(.malformedJSON, "the request body is empty; send a JSON object") }
        return buffer
    }

    /// A whole list as one page (`has_more` false): for lists that are never paged.
    static func list(_ items: [JSONValue]) -> JSONValue {
        ["data": .array(items), "has_more": false, "next_cursor": nil]
    }

    /// An optional body: `nil` when there is none (or it is empty), else its JSON, or 400
    /// `malformed_json`.
    static func optionalValue(from request: Request, limit: Int) async throws -> JSONValue? {
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        do { return try JSONParser.parse(buffer.readableBytesView) } catch { throw TallyError(.malformedJSON, "the request body is not valid JSON") }
    }

    /// A `JSONValue` response written by `JSONWriter` (no Codable).
    static func response(json value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        response(bytes: JSONWriter.encode(value), status: status)
    }

    /// A response of JSON already written.
    static func response(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func map(_ error: DecodingError) -> TallyError {
        func path(_ context: DecodingError.Context, _ extra: (any CodingKey)? = nil) -> String {
            (context.codingPath + (extra.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return TallyError(.malformedJSON, "the request body is not valid JSON")
        case .dataCorrupted(let context):
            return TallyError.validation(path(context), "\(path(context)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let field = path(context, key)
            return TallyError.validation(field, "\(field) is required")
        case .typeMismatch(let expected, let context), .valueNotFound(let expected, let context):
            let field = path(context)
            return field.isEmpty
                ? TallyError(.malformedJSON, "the request body must be a JSON object")
                : TallyError.validation(field, "\(field) must be \(describe(expected))")
        @unknown default:
            return TallyError(.malformedJSON, "the request body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Double.Type: "a number"
        case is [Any].Type: "an array"
        default: "a value of another type"
        }
    }

    /// A JSON response with the given status.
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try encode(value))))
    }

    /// A value as the API writes JSON: sorted keys, ISO 8601 dates.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}

/// A page of a list as the API returns it.
struct ListBody<Item: Encodable & Sendable>: Encodable {
    let data: [Item]
    let hasMore: Bool
    let nextCursor: String?

    init(_ page: Page<Item>) {
        self.data = page.items
        self.hasMore = page.nextCursor != nil
        self.nextCursor = page.nextCursor
    }

    enum CodingKeys: String, CodingKey { case data, hasMore = "has_more", nextCursor = "next_cursor" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(data, forKey: .data)
        try c.encode(hasMore, forKey: .hasMore)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Request {
    /// `limit` (1–200, default 50) and `after` from the query string.
    func pageRequest() throws -> PageRequest {
        var page = PageRequest()
        if let text = uri.queryParameters["limit"].map(String.init) {
            guard let limit = Int(text), (1...PageRequest.maximumLimit).contains(limit) else {
                throw TallyError(.invalidParameter, "limit must be a whole number from 1 to \(PageRequest.maximumLimit)", field: "limit")
            }
            page.limit = limit
        }
        if let after = uri.queryParameters["after"].map(String.init), !after.isEmpty {
            guard after.utf8.count <= 64 else { throw TallyError(.invalidParameter, "after must be a cursor from next_cursor", field: "after") }
            page.after = after
        }
        return page
    }
}

extension TallyRequestContext {
    /// The scope of the tenant a `/v1/tenants/{id}/…` route names, for operators only (403 for
    /// anyone else, 404 for a malformed id).
    func operatorScope() throws -> TenantScope {
        try requirePrincipal().requireOperator()
        return TenantScope(operatorActingOn: try identifier("id", as: TenantKind.self, what: "tenant"))
    }

    /// A path parameter parsed as an identifier, or 404 (a malformed id names nothing).
    func identifier<Kind: IdentifierKind>(_ name: String, as _: Kind.Type, what: String) throws -> Identifier<Kind> {
        guard let text = parameters.get(name), let id = Identifier<Kind>(text) else { throw TallyError.notFound(what) }
        return id
    }
}
