import Core

/// One usage event as Tally books it: a validated CloudEvents 1.0 event.
public struct UsageEvent: Sendable, Equatable {
    /// The producer's id, unique per `source` for ever (the deduplication key with the tenant).
    public var id: String
    public var source: String
    public var type: String
    /// The entity the usage belongs to (a customer, a workspace), if the producer says.
    public var subject: String?
    /// When the usage happened, in microseconds since the epoch (the receipt time if absent).
    public var time: Int64
    /// The event's payload object; meters read values and dimensions from it.
    public var data: [String: JSONValue]

    public init(id: String, source: String, type: String, subject: String?, time: Int64, data: [String: JSONValue]) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.data = data
    }
}

/// Why one event was not accepted: a stable code, the attribute at fault, and a reason.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var field: String?
    public var reason: String

    public init(_ code: String, field: String?, _ reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(code)\(field.map { " (\($0))" } ?? ""): \(reason)" }
}

/// CloudEvents 1.0 (JSON format) validation, pure: each event is judged on its own, so a batch
/// can accept its good events and name what is wrong with each bad one.
public enum CloudEventEnvelope {
    /// Longest `id`, `type` and `subject`, in bytes.
    public static let maxAttributeBytes = 256
    /// Longest `source`, in bytes.
    public static let maxSourceBytes = 1024

    static let contextAttributes: Set<String> = [
        "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data", "data_base64",
    ]

    /// The event, or the first thing wrong with it.
    public static func parse(_ value: JSONValue, receivedAt: Int64) -> Result<UsageEvent, EventRejection> {
        guard let object = value.objectValue else {
            return .failure(EventRejection("invalid_event", field: nil, "each event must be a JSON object"))
        }
        do {
            guard case .string(let version)? = object["specversion"] else {
                throw EventRejection("missing_attribute", field: "specversion", "specversion is required and must be \"1.0\"")
            }
            guard version == "1.0" else {
                throw EventRejection("unsupported_specversion", field: "specversion", "only CloudEvents specversion \"1.0\" is supported")
            }
            let id = try requiredString(object, "id", maxBytes: maxAttributeBytes)
            let source = try requiredString(object, "source", maxBytes: maxSourceBytes)
            let type = try requiredString(object, "type", maxBytes: maxAttributeBytes)
            let subject = try optionalString(object, "subject", maxBytes: maxAttributeBytes)

            var time = receivedAt
            if let text = try optionalString(object, "time", maxBytes: 64) {
                guard let parsed = RFC3339.microseconds(text) else {
                    throw EventRejection("invalid_time", field: "time", "time must be an RFC 3339 timestamp such as 2026-11-28T10:15:30Z")
                }
                time = parsed
            }
            if let contentType = try optionalString(object, "datacontenttype", maxBytes: 128) {
                let media = MediaType.essence(of: contentType)
                guard media == "application/json" || media.hasSuffix("+json") else {
                    throw EventRejection("unsupported_data_content_type", field: "datacontenttype", "data must be JSON (application/json)")
                }
            }
            if object["data_base64"] != nil {
                throw EventRejection("unsupported_data_content_type", field: "data_base64", "binary data is not supported; send data as a JSON object")
            }
            var data: [String: JSONValue] = [:]
            switch object["data"] {
            case nil, .null?: break
            case .object(let members)?: data = members
            default: throw EventRejection("invalid_data", field: "data", "data must be a JSON object")
            }
            // PostgreSQL's jsonb cannot hold U+0000; refusing it here keeps both backends alike.
            if Self.containsNUL(.object(data)) {
                throw EventRejection("invalid_data", field: "data", "data must not contain the NUL character (U+0000)")
            }
            for name in object.keys where !contextAttributes.contains(name) {
                guard isExtensionName(name) else {
                    throw EventRejection("invalid_attribute", field: name, "extension attribute names are 1-20 lowercase letters and digits")
                }
            }
            return .success(UsageEvent(id: id, source: source, type: type, subject: subject, time: time, data: data))
        } catch let rejection as EventRejection {
            return .failure(rejection)
        } catch {
            return .failure(EventRejection("invalid_event", field: nil, "the event could not be read"))
        }
    }

    private static func requiredString(_ object: [String: JSONValue], _ name: String, maxBytes: Int) throws -> String {
        guard let value = try optionalString(object, name, maxBytes: maxBytes) else {
            throw EventRejection("missing_attribute", field: name, "\(name) is required")
        }
        return value
    }

    static func optionalString(_ object: [String: JSONValue], _ name: String, maxBytes: Int) throws -> String? {
        switch object[name] {
        case nil, .null?:
            return nil
        case .string(let text)?:
            guard !text.isEmpty, text.utf8.count <= maxBytes,
                  !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
                throw EventRejection("invalid_attribute", field: name, "\(name) must be 1-\(maxBytes) bytes with no control characters")
            }
            return text
        default:
            throw EventRejection("invalid_attribute", field: name, "\(name) must be a string")
        }
    }

    public static func containsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): text.utf8.contains(0)
        case .array(let items): items.contains(where: containsNUL)
        case .object(let members): members.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        default: false
        }
    }

    /// CloudEvents extension names: lowercase ASCII letters and digits, at most 20.
    static func isExtensionName(_ name: String) -> Bool {
        (1...20).contains(name.utf8.count) && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }
}
