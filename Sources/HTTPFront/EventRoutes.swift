import Core
import HTTPTypes
import Hummingbird
import Metering
import NIOCore
import Platform
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/events` (and the brief's `POST /api/usage`): one CloudEvent or a batch.
struct EventRoutes {
    let platform: Platform
    let maxBatchEvents: Int
    let maxBatchBytes: Int

    func register(on group: RouterGroup<TallyRequestContext>) {
        group.post("events") { request, context in try await ingest(request, context) }
    }

    func ingest(_ request: Request, _ context: TallyRequestContext) async throws -> Response {
        let scope = try context.requirePrincipal().requireTenant(.eventsWrite)
        let media = request.headers[.contentType]?.split(separator: ";").first.map { String($0).trimmingWhitespace().lowercased() } ?? "application/json"
        guard ["application/json", "application/cloudevents+json", "application/cloudevents-batch+json"].contains(media) else {
            throw TallyError(.unsupportedMediaType, "send application/cloudevents+json (one event), application/cloudevents-batch+json (a batch) or application/json")
        }
        let buffer = try await request.body.collect(upTo: maxBatchBytes)
        let body: JSONValue
        do {
            body = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
        } catch {
            throw TallyError(.malformedJSON, "the request body is not valid JSON")
        }
        let single: Bool
        let events: [JSONValue]
        switch (media, body) {
        case ("application/cloudevents-batch+json", .array(let items)), ("application/json", .array(let items)):
            single = false
            events = items
        case ("application/cloudevents+json", .object), ("application/json", .object):
            single = true
            events = [body]
        case ("application/cloudevents-batch+json", _):
            throw TallyError(.malformedJSON, "a batch must be a JSON array of events")
        default:
            throw TallyError(.malformedJSON, "send one event as a JSON object or a batch as a JSON array")
        }
        guard !events.isEmpty else { throw TallyError.validation("events", "the batch is empty") }
        guard events.count <= maxBatchEvents else {
            throw TallyError(.batchTooLarge, "a batch holds at most \(maxBatchEvents) events; this one has \(events.count)")
        }
        let atomic = request.uri.queryParameters["atomic"].map { $0 == "true" || $0 == "1" } ?? false
        let report = try await platform.metering.ingest(events, in: scope, atomic: atomic)

        if single, let result = report.results.first, result.status == .rejected {
            let code = TallyError.Code(result.code ?? "event_rejected", status: 422, title: "Event rejected")
            throw TallyError(code, result.reason ?? "the event was rejected", field: result.field)
        }
        if atomic, report.rejected > 0 {
            let encoder = JSONEncoder()
            let results = (try? JSONDecoder().decode(JSONValue.self, from: encoder.encode(report.results))) ?? .array([])
            return ProblemResponse.make(
                TallyError(.batchRejected, "\(report.rejected) of \(events.count) events were rejected, so none were booked"),
                requestID: context.requestID, extra: ["results": results]
            )
        }
        return try JSONBody.response(report)
    }
}

extension TallyError.Code {
    /// More events in one batch than `TALLY_EVENTS_MAX_BATCH`.
    public static let batchTooLarge = TallyError.Code("batch_too_large", status: 413, title: "Batch too large")
    /// An atomic batch (`?atomic=true`) had a rejected event, so nothing was booked.
    public static let batchRejected = TallyError.Code("batch_rejected", status: 422, title: "Batch rejected")
}
