/// One message to one endpoint, with every attempt to deliver it.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable { case pending, delivered, failed }

    /// One attempt: when, the HTTP status (if a response came), the error (if any), how long.
    public struct Attempt: Sendable, Equatable {
        public var atMillis: Int64
        public var status: Int?
        public var error: String?
        public var durationMillis: Int64

        public init(atMillis: Int64, status: Int?, error: String?, durationMillis: Int64) {
            self.atMillis = atMillis
            self.status = status
            self.error = error
            self.durationMillis = durationMillis
        }
    }

    public var id: WebhookMessageID
    public var endpoint: WebhookEndpointID
    public var tenant: TenantID
    public var eventType: String
    /// The exact body sent.
    public var payload: String
    public var status: Status
    public var attempts: [Attempt]
    public var jobID: JobID?
    public var createdAtMillis: Int64
    public var updatedAtMillis: Int64
    public var deliveredAtMillis: Int64?

    public init(id: WebhookMessageID, endpoint: WebhookEndpointID, tenant: TenantID, eventType: String, payload: String, status: Status = .pending,
                attempts: [Attempt] = [], jobID: JobID? = nil, createdAtMillis: Int64, updatedAtMillis: Int64, deliveredAtMillis: Int64? = nil) {
        self.id = id
        self.endpoint = endpoint
        self.tenant = tenant
        self.eventType = eventType
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.jobID = jobID
        self.createdAtMillis = createdAtMillis
        self.updatedAtMillis = updatedAtMillis
        self.deliveredAtMillis = deliveredAtMillis
    }

    /// The attempts as the JSON array both drivers store.
    public static func attemptsJSON(_ attempts: [Attempt]) -> String {
        String(decoding: JSONWriter.encode(.array(attempts.map(\.json))), as: UTF8.self)
    }

    public static func parseAttempts(_ text: String) -> [Attempt] {
        guard case .array(let items)? = try? JSONParser.parse(text.utf8) else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .number(let at)? = fields["at"] else { return nil }
            var status: Int?
            if case .number(let value)? = fields["status"] { status = Int(value) }
            var error: String?
            if case .string(let text)? = fields["error"] { error = text }
            var duration: Int64 = 0
            if case .number(let value)? = fields["duration_ms"] { duration = Int64(value) }
            return Attempt(atMillis: Int64(at), status: status, error: error, durationMillis: duration)
        }
    }
}

extension WebhookDelivery.Attempt {
    /// As stored (`at` in ms).
    public var json: JSONValue {
        .object([
            "at": .number(Double(atMillis)), "status": status.map { .number(Double($0)) } ?? .null,
            "error": error.map { .string($0) } ?? .null, "duration_ms": .number(Double(durationMillis)),
        ])
    }
}
