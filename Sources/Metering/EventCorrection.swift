import Core

/// A void or an amendment of a booked event. Corrections are appended; the original ledger row
/// never changes. The latest correction says what the event now is.
public struct EventCorrection: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// The event no longer counts.
        case void
        /// The event now has this subject and data (its id, source, type and time never change).
        case amend
    }

    /// 1, 2, 3… per event.
    public var sequence: Int
    public var kind: Kind
    /// For `amend`: the event's subject from now on.
    public var subject: String?
    /// For `amend`: the event's data from now on.
    public var data: [String: JSONValue]?
    /// Why, as the caller said.
    public var reason: String?
    /// Microseconds since the epoch.
    public var createdAt: Int64

    public init(sequence: Int, kind: Kind, subject: String?, data: [String: JSONValue]?, reason: String?, createdAt: Int64) {
        self.sequence = sequence
        self.kind = kind
        self.subject = subject
        self.data = data
        self.reason = reason
        self.createdAt = createdAt
    }

    /// The longest `reason`, in bytes.
    public static let maxReasonBytes = 1024

    /// The event as this correction leaves it: `nil` when voided.
    public func apply(to event: UsageEvent) -> UsageEvent? {
        switch kind {
        case .void:
            return nil
        case .amend:
            var amended = event
            amended.subject = subject
            amended.data = data ?? [:]
            return amended
        }
    }
}

/// A booked event and its corrections, oldest first.
public struct EventHistory: Sendable, Equatable {
    public var event: UsageEvent
    /// Microseconds since the epoch when Tally booked the event.
    public var receivedAt: Int64
    public var corrections: [EventCorrection]

    public init(event: UsageEvent, receivedAt: Int64, corrections: [EventCorrection]) {
        self.event = event
        self.receivedAt = receivedAt
        self.corrections = corrections
    }

    /// The event as it counts now: the original, amended by the latest correction, or `nil` if voided.
    public var effective: UsageEvent? {
        guard let latest = corrections.last else { return event }
        return latest.apply(to: event)
    }

    public var isVoided: Bool { corrections.last?.kind == .void }

    /// The correction `request` makes next, after checking it may: a voided event takes no
    /// further corrections, and an amended event must be readable by every meter of its type,
    /// as a new event must.
    public func next(_ request: CorrectionRequest, catalog: MeterCatalog, now: Int64) -> Result<EventCorrection, EventRejection> {
        if isVoided {
            return .failure(EventRejection("event_voided", field: nil, "the event was voided; a voided event takes no further corrections"))
        }
        let current = effective ?? event
        var correction = EventCorrection(
            sequence: (corrections.last?.sequence ?? 0) + 1, kind: request.kind, subject: nil, data: nil, reason: request.reason, createdAt: now
        )
        if request.kind == .amend {
            switch request.subject {
            case .keep: correction.subject = current.subject
            case .set(let subject): correction.subject = subject
            }
            correction.data = request.data ?? current.data
            if let amended = correction.apply(to: event), case .failure(let rejection) = catalog.readings(of: amended) {
                return .failure(rejection)
            }
        }
        return .success(correction)
    }
}

/// What a caller asks of `POST /v1/events/{source}/{id}/void` or `/amend`, validated.
public struct CorrectionRequest: Sendable, Equatable {
    public enum SubjectChange: Sendable, Equatable {
        /// `subject` absent: the event keeps its subject.
        case keep
        /// `subject` given (a string, or null to clear it).
        case set(String?)
    }

    public var kind: EventCorrection.Kind
    public var subject: SubjectChange
    /// For `amend`: the new data object.
    public var data: [String: JSONValue]?
    public var reason: String?

    public init(kind: EventCorrection.Kind, subject: SubjectChange = .keep, data: [String: JSONValue]? = nil, reason: String? = nil) {
        self.kind = kind
        self.subject = subject
        self.data = data
        self.reason = reason
    }

    /// Reads a request body: void takes `{"reason"}` (or nothing); amend takes
    /// `{"data", "subject", "reason"}` and needs `data` or `subject`.
    public static func parse(_ kind: EventCorrection.Kind, body: JSONValue?) -> Result<CorrectionRequest, EventRejection> {
        var request = CorrectionRequest(kind: kind)
        let object: [String: JSONValue]
        switch body {
        case nil, .null?: object = [:]
        case .object(let members)?: object = members
        default: return .failure(EventRejection("invalid_body", field: nil, "the body must be a JSON object"))
        }
        let allowed: Set<String> = kind == .void ? ["reason"] : ["reason", "data", "subject"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(EventRejection("unknown_field", field: unknown, "\(kind.rawValue) takes only \(allowed.sorted().joined(separator: ", "))"))
        }
        switch object["reason"] {
        case nil, .null?: break
        case .string(let text)?:
            guard text.utf8.count <= EventCorrection.maxReasonBytes else {
                return .failure(EventRejection("invalid_reason", field: "reason", "reason must be at most \(EventCorrection.maxReasonBytes) bytes"))
            }
            request.reason = text
        default: return .failure(EventRejection("invalid_reason", field: "reason", "reason must be a string"))
        }
        guard kind == .amend else { return .success(request) }
        switch object["subject"] {
        case nil: break
        case .null?: request.subject = .set(nil)
        case .string?:
            // The same rule as an event's own subject.
            do {
                request.subject = .set(try CloudEventEnvelope.optionalString(object, "subject", maxBytes: CloudEventEnvelope.maxAttributeBytes))
            } catch let rejection as EventRejection {
                return .failure(rejection)
            } catch {
                return .failure(EventRejection("invalid_attribute", field: "subject", "subject must be a string or null"))
            }
        default: return .failure(EventRejection("invalid_attribute", field: "subject", "subject must be a string or null"))
        }
        switch object["data"] {
        case nil: break
        case .object(let members)?:
            if CloudEventEnvelope.containsNUL(.object(members)) {
                return .failure(EventRejection("invalid_data", field: "data", "data must not contain the NUL character (U+0000)"))
            }
            request.data = members
        default: return .failure(EventRejection("invalid_data", field: "data", "data must be a JSON object"))
        }
        if request.data == nil, request.subject == .keep {
            return .failure(EventRejection("missing_attribute", field: "data", "an amendment needs data, subject, or both"))
        }
        return .success(request)
    }
}
