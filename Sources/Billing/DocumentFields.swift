import Core
import Metering

/// Reads the members of a stored billing document (a subscription, an invoice, a credit note)
/// by name. Stored documents are written by this module's own `json`, so a member that is
/// missing or of the wrong type is a storage fault and reads as `nil`.
struct DocumentFields {
    let fields: [String: JSONValue]

    init?(_ value: JSONValue) {
        guard case .object(let fields) = value else { return nil }
        self.fields = fields
    }

    func text(_ key: String) -> String? {
        if case .string(let value)? = fields[key] { return value }
        return nil
    }

    func int(_ key: String) -> Int? {
        if case .number(let value)? = fields[key], value == value.rounded(), abs(value) < 9e15 { return Int(value) }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = fields[key] { return value }
        return nil
    }

    /// An RFC 3339 member as Unix seconds.
    func seconds(_ key: String) -> Int64? { text(key).flatMap(RFC3339.seconds) }

    func money(_ key: String, _ currency: Currency) -> Money? { text(key).flatMap { Money(decimal: $0, currency: currency) } }

    func array(_ key: String) -> [JSONValue]? {
        if case .array(let items)? = fields[key] { return items }
        return nil
    }
}
