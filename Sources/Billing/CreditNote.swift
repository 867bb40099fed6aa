import Core
import Metering

/// A correction to a finalized invoice: an amount credited against it, with a reason and a
/// gapless number of its own (`CN-2026-000007`). The invoice itself never changes.
public struct CreditNote: Sendable, Equatable {
    public var id: CreditNoteID
    public var tenantID: TenantID
    public var invoiceID: InvoiceID
    public var number: String
    public var amount: Money
    public var reason: String
    public var createdAt: Int64

    public init(id: CreditNoteID, tenantID: TenantID, invoiceID: InvoiceID, number: String, amount: Money, reason: String, createdAt: Int64) {
        self.id = id
        self.tenantID = tenantID
        self.invoiceID = invoiceID
        self.number = number
        self.amount = amount
        self.reason = reason
        self.createdAt = createdAt
    }

    public var json: JSONValue {
        .object([
            "id": .string(id.rawValue), "tenant_id": .string(tenantID.rawValue), "invoice_id": .string(invoiceID.rawValue), "number": .string(number),
            "amount": .string(amount.decimalString), "currency": .string(amount.currency.code), "reason": .string(reason),
            "created_at": RFC3339.json(seconds: createdAt),
        ])
    }

    public static func parse(stored value: JSONValue) -> CreditNote? {
        guard let f = DocumentFields(value), let id = f.text("id").flatMap(CreditNoteID.init), let tenant = f.text("tenant_id").flatMap(TenantID.init),
              let invoice = f.text("invoice_id").flatMap(InvoiceID.init), let number = f.text("number"),
              let currency = f.text("currency").flatMap(Currency.init), let amount = f.money("amount", currency), let reason = f.text("reason"),
              let created = f.seconds("created_at") else { return nil }
        return CreditNote(id: id, tenantID: tenant, invoiceID: invoice, number: number, amount: amount, reason: reason, createdAt: created)
    }
}
