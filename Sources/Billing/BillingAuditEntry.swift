import Core
import Metering

/// One audited billing transition: a subscription or invoice moving from one state to another,
/// who moved it and why. Written in the same transaction as the change; never updated.
public struct BillingAuditEntry: Sendable, Equatable {
    public enum Subject: String, Sendable, Equatable { case subscription, invoice, account }

    public var at: Int64
    public var tenantID: TenantID
    public var subject: Subject
    public var subjectID: String
    public var action: String
    public var from: String?
    public var to: String?
    /// `api:<key id>`, `operator:<key id>`, `billing-run`, `dunning`, `provider:<name>`.
    public var actor: String
    public var detail: String

    public init(at: Int64, tenantID: TenantID, subject: Subject, subjectID: String, action: String, from: String?, to: String?, actor: String, detail: String = "") {
        self.at = at
        self.tenantID = tenantID
        self.subject = subject
        self.subjectID = subjectID
        self.action = action
        self.from = from
        self.to = to
        self.actor = actor
        self.detail = detail
    }

    public var json: JSONValue {
        .object([
            "at": RFC3339.json(seconds: at), "tenant_id": .string(tenantID.rawValue), "subject": .string(subject.rawValue),
            "subject_id": .string(subjectID), "action": .string(action), "from": from.map(JSONValue.string) ?? .null,
            "to": to.map(JSONValue.string) ?? .null, "actor": .string(actor), "detail": .string(detail),
        ])
    }

    /// Reads `json` back; `nil` for a document this module did not write.
    public static func parse(stored value: JSONValue) -> BillingAuditEntry? {
        guard let f = DocumentFields(value), let at = f.seconds("at"), let tenant = f.text("tenant_id").flatMap(TenantID.init),
              let subject = f.text("subject").flatMap(Subject.init), let subjectID = f.text("subject_id"), let action = f.text("action"),
              let actor = f.text("actor") else { return nil }
        return BillingAuditEntry(at: at, tenantID: tenant, subject: subject, subjectID: subjectID, action: action, from: f.text("from"), to: f.text("to"),
                                 actor: actor, detail: f.text("detail") ?? "")
    }
}
