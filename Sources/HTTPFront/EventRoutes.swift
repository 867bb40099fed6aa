import Core
import Crypto
import HTTPTypes
import Hummingbird
import Metering
import NIOCore
import Platform
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/events` (and the brief's `POST /api/usage`): one CloudEvent or a batch.
struct EventRoutes {
    let platform: Platform
    let idempotency: any IdempotencyStore
    let maxBatchEvents: Int
    let maxBatchBytes: Int
    /// How long a key and its response are remembered (`TALLY_IDEMPOTENCY_TTL_SECONDS`).
    let idempotencyTTL: Duration

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("events") { request, context in try await ingest(request, context) }
        group.get("events/:source/:id") { _, context in
            let scope = try context.requirePrincipal().requireTenant(.usageRead)
            let (source, id) = try Self.eventAddress(context)
            return try JSONBody.response(HistoryBody(try await platform.metering.history(source: source, eventID: id, in: scope)))
        }
        group.post("events/:source/:id/void") { request, context in try await correct(.void, request, context) }
        group.post("events/:source/:id/amend") { request, context in try await correct(.amend, request, context) }
    }

    func ingest(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.eventsWrite)
        let media = request.headers.single(.contentType).map(MediaType.essence(of:)) ?? "application/json"
        guard ["application/json", "application/cloudevents+json", "application/cloudevents-batch+json"].contains(media) else {
            throw TallyError(.unsupportedMediaType, "send application/cloudevents+json (one event), application/cloudevents-batch+json (a batch) or application/json")
        }
        // Admitted by its declared size before the body is read, so refused load costs no memory.
        let declared = request.headers.single(.contentLength).flatMap { Int($0) }.map { min($0, maxBatchBytes) } ?? maxBatchBytes
        return try await platform.metering.withAdmission(scope, bytes: declared) {
            let body = Array(buffer: try await request.body.collect(upTo: maxBatchBytes))
            let atomic = request.uri.queryParameters["atomic"].map { $0 == "true" || $0 == "1" } ?? false
            // The same request means the same body, media type and mode, through either route name.
            return try await idempotent(request, scope: scope, fingerprint: Array("events \(media) atomic=\(atomic)\n".utf8) + body) {
                try await outcome(body: body, media: media, atomic: atomic, scope: scope, requestID: context.requestID)
            }
        }
    }

    /// `POST /v1/events/{source}/{id}/void|amend`: appends a correction (the source is
    /// percent-encoded in the path, as CloudEvents sources usually hold slashes).
    func correct(_ kind: EventCorrection.Kind, _ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.eventsWrite)
        let (source, id) = try Self.eventAddress(context)
        let body = Array(buffer: try await request.body.collect(upTo: maxBatchBytes))
        if !body.isEmpty, let media = request.headers.single(.contentType).map(MediaType.essence(of:)), media != "application/json" {
            throw TallyError(.unsupportedMediaType, "send the correction as application/json")
        }
        return try await idempotent(request, scope: scope, fingerprint: Array("\(kind.rawValue) \(source) \(id)\n".utf8) + body) {
            do {
                let parsed = body.isEmpty ? nil : try Self.json(body)
                let correction: CorrectionRequest
                switch CorrectionRequest.parse(kind, body: parsed) {
                case .success(let parsed): correction = parsed
                case .failure(let rejection): throw TallyError(.eventRejected(rejection.code), rejection.reason, field: rejection.field)
                }
                let history = try await platform.metering.correct(source: source, eventID: id, correction, in: scope)
                return StoredResponse(status: 201, contentType: "application/json", body: try JSONBody.encode(HistoryBody(history)))
            } catch let error as TallyError where error.code.status < 500 {
                return ProblemResponse.stored(error, requestID: context.requestID)
            }
        }
    }

    /// The event's source and id from the path, percent-decoded.
    static func eventAddress(_ context: TallyRequestContext) throws -> (source: String, id: String) {
        guard let source = context.parameters.get("source").flatMap(PercentDecoding.decode),
              let id = context.parameters.get("id").flatMap(PercentDecoding.decode), !source.isEmpty, !id.isEmpty else {
            throw TallyError(.invalidParameter, "the event's source and id must be percent-encoded UTF-8 path segments", field: "source")
        }
        return (source, id)
    }

    /// Runs `produce` once per Idempotency-Key (IETF httpapi draft): a repeat of the same request
    /// gets the stored response, another request under the key 422, one still running 409.
    /// The fingerprint's material is built only when the request carries a key (most do not).
    func idempotent(
        _ request: Request, scope: TenantScope, fingerprint material: @autoclosure () -> [UInt8], produce: () async throws -> StoredResponse
    ) async throws -> Response {
        guard let header = request.headers.single(.idempotencyKey) else { return Self.response(try await produce()) }
        guard let key = IdempotencyDecision.normalizedKey(header) else {
            throw TallyError(.invalidParameter, "Idempotency-Key must be 1-255 visible ASCII characters", field: "Idempotency-Key")
        }
        let fingerprint = Array(SHA256.hash(data: material())).hexString
        switch try await idempotency.claimIdempotencyKey(key, in: scope, fingerprint: fingerprint, now: Date(), lock: .seconds(60), ttl: idempotencyTTL) {
        case .replay(let stored):
            var response = Self.response(stored)
            response.headers[.idempotentReplayed] = "true"
            return response
        case .mismatch:
            throw TallyError(.idempotencyKeyReused, "this Idempotency-Key was used for a different request", field: "Idempotency-Key")
        case .inFlight:
            throw TallyError(.idempotencyKeyInFlight, "a request with this Idempotency-Key is still being processed; retry shortly", field: "Idempotency-Key")
        case .proceed:
            let stored: StoredResponse
            do {
                stored = try await produce()
            } catch {
                try? await idempotency.releaseIdempotencyKey(key, in: scope, fingerprint: fingerprint)  // let a retry try again
                throw error
            }
            try await idempotency.completeIdempotencyKey(key, in: scope, fingerprint: fingerprint, response: stored)
            return Self.response(stored)
        }
    }

    /// The response to an ingest, as bytes that can be stored for replay. Client errors found in
    /// the body (malformed JSON, a rejected single event) are responses too: the same body
    /// always gets them.
    func outcome(body: [UInt8], media: String, atomic: Bool, scope: TenantScope, requestID: String) async throws -> StoredResponse {
        do {
            let events = try Self.events(in: body, media: media)
            guard events.values.count <= maxBatchEvents else {
                throw TallyError(.batchTooLarge, "a batch holds at most \(maxBatchEvents) events; this one has \(events.values.count)")
            }
            let report = try await platform.metering.ingest(events.values, in: scope, atomic: atomic)
            if events.single, let result = report.results.first, result.status == .rejected {
                let code = TallyError.Code(result.code ?? "event_rejected", status: 422, title: "Event rejected")
                throw TallyError(code, result.reason ?? "the event was rejected", field: result.field)
            }
            if atomic, report.rejected > 0 {
                return ProblemResponse.stored(
                    TallyError(.batchRejected, "\(report.rejected) of \(events.values.count) events were rejected, so none were booked"),
                    requestID: requestID, extra: ["results": .array(report.results.map(\.jsonValue))]
                )
            }
            return StoredResponse(status: 200, contentType: "application/json", body: report.jsonBytes())
        } catch let error as TallyError where error.code.status < 500 {
            return ProblemResponse.stored(error, requestID: requestID)
        }
    }

    /// The body as JSON, or `malformed_json`.
    static func json(_ body: [UInt8]) throws(TallyError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw TallyError(.malformedJSON, "the request body is not valid JSON")
        }
    }

    /// The submitted events, and whether the body was one event rather than a batch.
    static func events(in body: [UInt8], media: String) throws -> (values: [JSONValue], single: Bool) {
        let parsed = try json(body)
        switch (media, parsed) {
        case ("application/cloudevents-batch+json", .array(let items)), ("application/json", .array(let items)):
            guard !items.isEmpty else { throw TallyError.validation("events", "the batch is empty") }
            return (items, false)
        case ("application/cloudevents+json", .object), ("application/json", .object):
            return ([parsed], true)
        case ("application/cloudevents-batch+json", _):
            throw TallyError(.malformedJSON, "a batch must be a JSON array of events")
        default:
            throw TallyError(.malformedJSON, "send one event as a JSON object or a batch as a JSON array")
        }
    }

    static func response(_ stored: StoredResponse) -> Response {
        Response(status: .init(code: stored.status), headers: [.contentType: stored.contentType], body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }
}

extension TallyError.Code {
    /// More events in one batch than `TALLY_EVENTS_MAX_BATCH`.
    public static let batchTooLarge = TallyError.Code("batch_too_large", status: 413, title: "Batch too large")
    /// An atomic batch (`?atomic=true`) had a rejected event, so nothing was booked.
    public static let batchRejected = TallyError.Code("batch_rejected", status: 422, title: "Batch rejected")
    /// The Idempotency-Key was used before for a different request.
    public static let idempotencyKeyReused = TallyError.Code("idempotency_key_reused", status: 422, title: "Idempotency key reused")
    /// The first request with this Idempotency-Key is still being processed.
    public static let idempotencyKeyInFlight = TallyError.Code("idempotency_key_in_flight", status: 409, title: "Idempotency key in flight")
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}

/// One event's history: what was booked, every correction, and what counts now.
struct HistoryBody: Encodable {
    struct Version: Encodable {
        let subject: String?
        let data: [String: JSONValue]

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(subject, forKey: .subject)
            try c.encode(data, forKey: .data)
        }

        enum Keys: String, CodingKey { case subject, data }
    }

    struct Correction: Encodable {
        let sequence: Int
        let kind: String
        let subject: String?
        let data: [String: JSONValue]?
        let reason: String?
        let createdAt: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(sequence, forKey: .sequence)
            try c.encode(kind, forKey: .kind)
            if kind == EventCorrection.Kind.amend.rawValue {
                try c.encode(subject, forKey: .subject)
                try c.encode(data, forKey: .data)
            }
            try c.encode(reason, forKey: .reason)
            try c.encode(createdAt, forKey: .createdAt)
        }

        enum Keys: String, CodingKey { case sequence, kind, subject, data, reason, createdAt = "created_at" }
    }

    let source: String
    let id: String
    let type: String
    let time: String
    let receivedAt: String
    /// `active`, `amended` or `voided`.
    let status: String
    let original: Version
    let effective: Version?
    let corrections: [Correction]

    init(_ history: EventHistory) {
        source = history.event.source
        id = history.event.id
        type = history.event.type
        time = RFC3339.format(microseconds: history.event.time)
        receivedAt = RFC3339.format(microseconds: history.receivedAt)
        status = history.isVoided ? "voided" : history.corrections.isEmpty ? "active" : "amended"
        original = Version(subject: history.event.subject, data: history.event.data)
        effective = history.effective.map { Version(subject: $0.subject, data: $0.data) }
        corrections = history.corrections.map {
            Correction(
                sequence: $0.sequence, kind: $0.kind.rawValue, subject: $0.subject, data: $0.data, reason: $0.reason,
                createdAt: RFC3339.format(microseconds: $0.createdAt)
            )
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(source, forKey: .source)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(time, forKey: .time)
        try c.encode(receivedAt, forKey: .receivedAt)
        try c.encode(status, forKey: .status)
        try c.encode(original, forKey: .original)
        try c.encode(effective, forKey: .effective)
        try c.encode(corrections, forKey: .corrections)
    }

    enum Keys: String, CodingKey { case source, id, type, time, receivedAt = "received_at", status, original, effective, corrections }
}
