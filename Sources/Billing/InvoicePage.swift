import Core
import Metering

/// An invoice as a printable HTML page (no scripts, no external resources: it prints and saves
/// as it is). Pure; every text from data is escaped.
public enum InvoicePage {
    public static func html(_ invoice: Invoice, creditNotes: [CreditNote], tenantName: String, issuer: String = "Tally") -> String {
        let title = invoice.number ?? "Draft invoice"
        func date(_ seconds: Int64?) -> String { seconds.map { String(RFC3339.format(microseconds: $0 * 1_000_000).prefix(10)) } ?? "—" }
        func money(_ amount: Money) -> String { escape("\(amount.decimalString) \(amount.currency.code)") }
        var rows = ""
        for line in invoice.lines {
            var detail = ""
            if let quantity = line.quantity { detail = "Quantity \(quantity)" }
            if line.kind == .adjustment || (line.kind == .proration && line.charge == nil), let start = line.periodStart, let end = line.periodEnd {
                detail += (detail.isEmpty ? "" : " · ") + "for \(date(start)) – \(date(end))"
            }
            rows += "<tr><td>\(escape(line.description))\(detail.isEmpty ? "" : "<div class=\"detail\">\(escape(detail))</div>")</td>"
                + "<td class=\"kind\">\(escape(line.kind.rawValue))</td><td class=\"amount\">\(money(line.amount))</td></tr>\n"
        }
        var credits = ""
        for note in creditNotes {
            credits += "<tr><td>Credit note \(escape(note.number)): \(escape(note.reason))</td><td class=\"kind\">credit</td><td class=\"amount\">-\(money(note.amount))</td></tr>\n"
        }
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font:14px/1.5 system-ui,sans-serif;color:#111;max-width:800px;margin:2rem auto;padding:0 1rem}
        h1{font-size:1.6rem;margin:0}table{width:100%;border-collapse:collapse;margin:1.5rem 0}
        th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;vertical-align:top}
        .amount{text-align:right;white-space:nowrap}.kind{color:#666}.detail{color:#666;font-size:.85em}
        .meta td{border:0;padding:.1rem .4rem}.total td{font-weight:bold;border-top:2px solid #111}
        .status{display:inline-block;padding:.1rem .5rem;border:1px solid #111;border-radius:3px;text-transform:uppercase;font-size:.8em}
        @media print{body{margin:0}}
        </style></head><body>
        <header><h1>\(escape(title)) <span class="status">\(escape(invoice.status.rawValue))</span></h1><p>\(escape(issuer))</p></header>
        <table class="meta">
        <tr><td>Billed to</td><td>\(escape(tenantName)) (\(escape(invoice.tenantID.rawValue)))</td></tr>
        <tr><td>Invoice id</td><td>\(escape(invoice.id.rawValue))</td></tr>
        <tr><td>Period</td><td>\(date(invoice.periodStart)) – \(date(invoice.periodEnd))</td></tr>
        <tr><td>Plan</td><td>\(escape(invoice.plan.key)) (version \(invoice.plan.version))</td></tr>
        <tr><td>Issued</td><td>\(date(invoice.finalizedAt))</td></tr>
        <tr><td>Due</td><td>\(date(invoice.dueAt))</td></tr>
        \(invoice.paidAt != nil ? "<tr><td>Paid</td><td>\(date(invoice.paidAt))</td></tr>" : "")
        </table>
        <table><thead><tr><th>Description</th><th>Kind</th><th class="amount">Amount</th></tr></thead><tbody>
        \(rows)</tbody>
        <tfoot>
        <tr><td>Subtotal</td><td></td><td class="amount">\(money(invoice.subtotal))</td></tr>
        <tr><td>Tax</td><td></td><td class="amount">\(money(invoice.tax))</td></tr>
        <tr class="total"><td>Total</td><td></td><td class="amount">\(money(invoice.total))</td></tr>
        \(credits)<tr class="total"><td>Amount due</td><td></td><td class="amount">\(money(invoice.amountDue))</td></tr>
        </tfoot></table>
        </body></html>

        """
    }

    /// Escapes the five characters that matter in HTML text and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
