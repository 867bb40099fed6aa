import Billing
import Core
import SQLiteNIO

/// Prices, subscriptions, invoices and the billing audit trail in the SQLite file.
public struct SQLiteBillingStore: BillingStore {
    let database: SQLiteDatabaseFile

    public init(database: SQLiteDatabaseFile) {
        self.database = database
    }

    /// `AND tenant_id = ?` and its bind for a tenant's scope; nothing for an operator's `nil`.
    static func tenantFilter(_ scope: TenantScope?) -> (sql: String, binds: [SQLiteData]) {
        scope.map { (" AND tenant_id = ?", [.text($0.tenantID.rawValue)]) } ?? ("", [])
    }

    // MARK: Prices

    public func insertPrices(_ plan: PricePlan, at: Int64) async throws -> PricePlan {
        try await database.transaction { db in
            let rows = try await db.query("SELECT COALESCE(max(version), 0) AS v FROM plan_prices WHERE plan_key = ?", [.text(plan.key)])
            var stored = plan
            stored.version = (rows.first?.column("v")?.integer ?? 0) + 1
            _ = try await db.query(
                "INSERT INTO plan_prices (plan_key, version, document, created_at) VALUES (?, ?, ?, ?)",
                [.text(plan.key), .integer(stored.version), .text(StoredBilling.text(stored.json)), .integer(Int(at))]
            )
            return stored
        }
    }

    public func priceVersions(of key: String) async throws -> [PricePlan] {
        try await database.read("SELECT document FROM plan_prices WHERE plan_key = ? ORDER BY version", [.text(key)]).map {
            try StoredBilling.prices(try $0.text("document"))
        }
    }

    public func prices(of key: String, version: Int?) async throws -> PricePlan? {
        let rows = if let version {
            try await database.read("SELECT document FROM plan_prices WHERE plan_key = ? AND version = ?", [.text(key), .integer(version)])
        } else {
            try await database.read("SELECT document FROM plan_prices WHERE plan_key = ? ORDER BY version DESC LIMIT 1", [.text(key)])
        }
        return try rows.first.map { try StoredBilling.prices(try $0.text("document")) }
    }

    public func latestPrices() async throws -> [PricePlan] {
        try await database.read(
            """
            SELECT p.document FROM plan_prices p
            WHERE p.version = (SELECT max(version) FROM plan_prices q WHERE q.plan_key = p.plan_key) ORDER BY p.plan_key
            """
        ).map { try StoredBilling.prices(try $0.text("document")) }
    }

    // MARK: Accounts

    public func account(in scope: TenantScope) async throws -> BillingAccount? {
        try await database.read("SELECT tax_basis_points, time_zone FROM billing_accounts WHERE tenant_id = ?", [.text(scope.tenantID.rawValue)]).first.map {
            BillingAccount(taxBasisPoints: try $0.int("tax_basis_points"), timeZone: try $0.text("time_zone"))
        }
    }

    public func accounts(of scopes: [TenantScope]) async throws -> [TenantID: BillingAccount] {
        var out: [TenantID: BillingAccount] = [:]
        for chunk in SQLiteLedgerStore.chunks(scopes) {
            for row in try await database.read(
                "SELECT tenant_id, tax_basis_points, time_zone FROM billing_accounts WHERE tenant_id IN (\(SQLiteLedgerStore.placeholders(chunk.count)))",
                chunk.map { .text($0.tenantID.rawValue) }
            ) {
                guard let id = TenantID(try row.text("tenant_id")) else { throw StorageDecodingError(column: "tenant_id") }
                out[id] = BillingAccount(taxBasisPoints: try row.int("tax_basis_points"), timeZone: try row.text("time_zone"))
            }
        }
        return out
    }

    public func setAccount(_ account: BillingAccount, in scope: TenantScope, at: Int64) async throws {
        try await database.transaction { db in
            _ = try await db.query(
                """
                INSERT INTO billing_accounts (tenant_id, tax_basis_points, time_zone, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (tenant_id) DO UPDATE SET tax_basis_points = excluded.tax_basis_points, time_zone = excluded.time_zone,
                    updated_at = excluded.updated_at
                """,
                [.text(scope.tenantID.rawValue), .integer(account.taxBasisPoints), .text(account.timeZone), .integer(Int(at))]
            )
        }
    }

    // MARK: Subscriptions

    public func insertSubscription(_ subscription: Subscription, audit: [BillingAuditEntry], in scope: TenantScope) async throws {
        do {
            try await database.transaction { db in
                _ = try await db.query(
                    "INSERT INTO subscriptions (id, tenant_id, state, period_end, closed, revision, document) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(subscription.id.rawValue), .text(scope.tenantID.rawValue), .text(subscription.state.rawValue),
                     .integer(Int(subscription.periodEnd)), .integer(subscription.closed ? 1 : 0), .integer(subscription.revision),
                     .text(StoredBilling.text(subscription.json))]
                )
                try await Self.write(audit, on: db)
            }
        } catch let error as SQLiteError where SQLiteEntitlementStore.isUniqueViolation(error) {
            throw StoredBilling.exists(scope.tenantID)
        }
    }

    public func subscription(_ id: SubscriptionID, in scope: TenantScope?) async throws -> Subscription? {
        let filter = Self.tenantFilter(scope)
        return try await database.read("SELECT document FROM subscriptions WHERE id = ?\(filter.sql)", [.text(id.rawValue)] + filter.binds).first.map {
            try StoredBilling.subscription(try $0.text("document"))
        }
    }

    public func subscriptions(in scope: TenantScope?, limit: Int, before: SubscriptionID?) async throws -> [Subscription] {
        let filter = Self.tenantFilter(scope)
        let cursor = before.map { (" AND id < ?", [SQLiteData.text($0.rawValue)]) } ?? ("", [])
        return try await database.read(
            "SELECT document FROM subscriptions WHERE 1 = 1\(filter.sql)\(cursor.0) ORDER BY id DESC LIMIT ?",
            filter.binds + cursor.1 + [.integer(limit)]
        ).map { try StoredBilling.subscription(try $0.text("document")) }
    }

    public func updateSubscription(
        _ subscription: Subscription, expectedRevision: Int, pendingLines: [InvoiceDraft.Line], audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Bool {
        do {
            return try await database.transaction { db in
                guard try await Self.write(subscription, expectedRevision: expectedRevision, scope: scope, on: db) else { return false }
                try await Self.insert(pendingLines, for: subscription.id, scope: scope, on: db)
                try await Self.write(audit, on: db)
                return true
            }
        } catch let error as SQLiteError where SQLiteEntitlementStore.isUniqueViolation(error) {
            throw StoredBilling.exists(scope.tenantID)
        }
    }

    public func dueSubscriptions(now: Int64, limit: Int) async throws -> [Subscription] {
        try await database.read(
            "SELECT document FROM subscriptions WHERE closed = 0 AND period_end <= ? ORDER BY period_end, id LIMIT ?", [.integer(Int(now)), .integer(limit)]
        ).map { try StoredBilling.subscription(try $0.text("document")) }
    }

    public func pendingLines(of subscriptions: [Subscription]) async throws -> [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]] {
        var out: [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]] = [:]
        for start in stride(from: 0, to: subscriptions.count, by: 200) {
            let chunk = subscriptions[start..<min(subscriptions.count, start + 200)]
            let pairs = chunk.map { _ in "(subscription_id = ? AND tenant_id = ?)" }.joined(separator: " OR ")
            for row in try await database.read(
                "SELECT id, subscription_id, line, currency FROM billing_pending_lines WHERE invoice_id IS NULL AND (\(pairs)) ORDER BY id",
                chunk.flatMap { [SQLiteData.text($0.id.rawValue), .text($0.tenantID.rawValue)] }
            ) {
                guard let id = SubscriptionID(try row.text("subscription_id")) else { throw StorageDecodingError(column: "subscription_id") }
                out[id, default: []].append((Int64(try row.int("id")), try StoredBilling.line(try row.text("line"), currency: try row.text("currency"))))
            }
        }
        return out
    }

    // MARK: Billing run

    public func recordPeriod(
        subscription: Subscription, expectedRevision: Int, invoice: Invoice?, consumedLines: [Int64], newPendingLines: [InvoiceDraft.Line],
        audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Bool {
        do {
            return try await database.transaction { db in
                guard try await Self.write(subscription, expectedRevision: expectedRevision, scope: scope, on: db) else { return false }
                if let invoice {
                    _ = try await db.query(
                        """
                        INSERT INTO invoices (id, tenant_id, subscription_id, period_start, status, number, finalize_at, dunning_at, revision, document)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        [.text(invoice.id.rawValue), .text(scope.tenantID.rawValue), .text(invoice.subscriptionID.rawValue), .integer(Int(invoice.periodStart)),
                         .text(invoice.status.rawValue), invoice.number.map { .text($0) } ?? .null, .integer(Int(invoice.finalizeAt)),
                         invoice.dunningAt.map { .integer(Int($0)) } ?? .null, .integer(invoice.revision), .text(StoredBilling.text(invoice.json))]
                    )
                    for id in consumedLines {
                        let taken = try await db.query(
                            "UPDATE billing_pending_lines SET invoice_id = ? WHERE id = ? AND tenant_id = ? AND invoice_id IS NULL RETURNING id",
                            [.text(invoice.id.rawValue), .integer(Int(id)), .text(scope.tenantID.rawValue)]
                        )
                        guard !taken.isEmpty else { throw LostRace() }
                    }
                }
                try await Self.insert(newPendingLines, for: subscription.id, scope: scope, on: db)
                try await Self.write(audit, on: db)
                return true
            }
        } catch is LostRace {
            return false
        } catch let error as SQLiteError where SQLiteEntitlementStore.isUniqueViolation(error) {
            // The period was invoiced by another run: nothing of this one is kept.
            return false
        }
    }

    public func recordPeriods(_ records: [BillingPeriodRecord]) async throws -> Bool {
        guard !records.isEmpty else { return true }
        do {
            return try await database.transaction { db in
                for record in records {
                    guard record.scope.tenantID == record.subscription.tenantID,
                          try await Self.write(record.subscription, expectedRevision: record.expectedRevision, scope: record.scope, on: db) else { throw LostRace() }
                    if let invoice = record.invoice {
                        _ = try await db.query(
                            """
                            INSERT INTO invoices (id, tenant_id, subscription_id, period_start, status, number, finalize_at, dunning_at, revision, document)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                            [.text(invoice.id.rawValue), .text(record.scope.tenantID.rawValue), .text(invoice.subscriptionID.rawValue), .integer(Int(invoice.periodStart)),
                             .text(invoice.status.rawValue), invoice.number.map { .text($0) } ?? .null, .integer(Int(invoice.finalizeAt)),
                             invoice.dunningAt.map { .integer(Int($0)) } ?? .null, .integer(invoice.revision), .text(StoredBilling.text(invoice.json))]
                        )
                    }
                    try await Self.write(record.audit, on: db)
                }
                return true
            }
        } catch is LostRace {
            return false
        } catch let error as SQLiteError where SQLiteEntitlementStore.isUniqueViolation(error) {
            return false
        }
    }

    /// Thrown inside a transaction to roll it back when a row another writer took is needed.
    struct LostRace: Error {}

    // MARK: Invoices

    public func invoice(_ id: InvoiceID, in scope: TenantScope?) async throws -> Invoice? {
        let filter = Self.tenantFilter(scope)
        return try await database.read("SELECT document FROM invoices WHERE id = ?\(filter.sql)", [.text(id.rawValue)] + filter.binds).first.map {
            try StoredBilling.invoice(try $0.text("document"))
        }
    }

    public func invoices(in scope: TenantScope?, status: Invoice.Status?, subscription: SubscriptionID?, limit: Int, before: InvoiceID?) async throws -> [Invoice] {
        let filter = Self.tenantFilter(scope)
        var sql = "SELECT document FROM invoices WHERE 1 = 1\(filter.sql)"
        var binds = filter.binds
        if let status {
            sql += " AND status = ?"
            binds.append(.text(status.rawValue))
        }
        if let subscription {
            sql += " AND subscription_id = ?"
            binds.append(.text(subscription.rawValue))
        }
        if let before {
            sql += " AND id < ?"
            binds.append(.text(before.rawValue))
        }
        return try await database.read(sql + " ORDER BY id DESC LIMIT ?", binds + [.integer(limit)]).map { try StoredBilling.invoice(try $0.text("document")) }
    }

    public func invoices(of subscriptions: [Subscription], since: Int64) async throws -> [SubscriptionID: [Invoice]] {
        var out: [SubscriptionID: [Invoice]] = [:]
        for start in stride(from: 0, to: subscriptions.count, by: 200) {
            let chunk = subscriptions[start..<min(subscriptions.count, start + 200)]
            let pairs = chunk.map { _ in "(subscription_id = ? AND tenant_id = ?)" }.joined(separator: " OR ")
            for row in try await database.read(
                "SELECT document FROM invoices WHERE status <> 'void' AND period_start >= ? AND (\(pairs)) ORDER BY id DESC",
                [.integer(Int(since))] + chunk.flatMap { [SQLiteData.text($0.id.rawValue), .text($0.tenantID.rawValue)] }
            ) {
                let invoice = try StoredBilling.invoice(try row.text("document"))
                out[invoice.subscriptionID, default: []].append(invoice)
            }
        }
        return out
    }

    public func dueDrafts(now: Int64, limit: Int) async throws -> [Invoice] {
        try await database.read(
            "SELECT document FROM invoices WHERE status = 'draft' AND finalize_at <= ? ORDER BY finalize_at, id LIMIT ?", [.integer(Int(now)), .integer(limit)]
        ).map { try StoredBilling.invoice(try $0.text("document")) }
    }

    public func invoicesInDunning(now: Int64, limit: Int) async throws -> [Invoice] {
        try await database.read(
            "SELECT document FROM invoices WHERE status = 'open' AND dunning_at <= ? ORDER BY dunning_at, id LIMIT ?", [.integer(Int(now)), .integer(limit)]
        ).map { try StoredBilling.invoice(try $0.text("document")) }
    }

    public func finalize(
        _ invoice: Invoice, expectedRevision: Int, prefix: String, year: Int, carry: [InvoiceDraft.Line], audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Invoice? {
        do {
            return try await database.transaction { db in
                var numbered = invoice
                numbered.number = InvoiceNumber(prefix: prefix, year: year, sequence: try await Self.next(prefix, year, on: db)).description
                guard try await Self.write(numbered, expectedRevision: expectedRevision, scope: scope, on: db) else { throw LostRace() }
                try await Self.insert(carry, for: invoice.subscriptionID, scope: scope, on: db)
                try await Self.write(audit, on: db)
                numbered.revision = expectedRevision + 1
                return numbered
            }
        } catch is LostRace {
            return nil
        }
    }

    public func updateInvoice(
        _ invoice: Invoice, expectedRevision: Int, subscription: (Subscription, expectedRevision: Int)?, audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Bool {
        do {
            return try await database.transaction { db in
                guard try await Self.write(invoice, expectedRevision: expectedRevision, scope: scope, on: db) else { return false }
                if let (next, revision) = subscription {
                    guard try await Self.write(next, expectedRevision: revision, scope: scope, on: db) else { throw LostRace() }
                }
                try await Self.write(audit, on: db)
                return true
            }
        } catch is LostRace {
            return false
        }
    }

    // MARK: Credit notes

    public func insertCreditNote(
        _ note: CreditNote, invoice: Invoice, expectedRevision: Int, prefix: String, year: Int, audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> CreditNote? {
        do {
            return try await database.transaction { db in
                guard try await Self.write(invoice, expectedRevision: expectedRevision, scope: scope, on: db) else { throw LostRace() }
                var numbered = note
                numbered.number = InvoiceNumber(prefix: prefix, year: year, sequence: try await Self.next(prefix, year, on: db)).description
                _ = try await db.query(
                    "INSERT INTO credit_notes (id, tenant_id, invoice_id, number, document) VALUES (?, ?, ?, ?, ?)",
                    [.text(numbered.id.rawValue), .text(scope.tenantID.rawValue), .text(numbered.invoiceID.rawValue), .text(numbered.number),
                     .text(StoredBilling.text(numbered.json))]
                )
                try await Self.write(audit, on: db)
                return numbered
            }
        } catch is LostRace {
            return nil
        }
    }

    public func creditNotes(of invoice: InvoiceID, in scope: TenantScope?) async throws -> [CreditNote] {
        let filter = Self.tenantFilter(scope)
        return try await database.read("SELECT document FROM credit_notes WHERE invoice_id = ?\(filter.sql) ORDER BY id", [.text(invoice.rawValue)] + filter.binds)
            .map { try StoredBilling.creditNote(try $0.text("document")) }
    }

    // MARK: Audit

    public func audit(of subjectID: String, in scope: TenantScope?) async throws -> [BillingAuditEntry] {
        let filter = Self.tenantFilter(scope)
        return try await database.read("SELECT document FROM billing_audit WHERE subject_id = ?\(filter.sql) ORDER BY id", [.text(subjectID)] + filter.binds)
            .map { try StoredBilling.audit(try $0.text("document")) }
    }

    // MARK: Writes inside a transaction

    static func write(_ subscription: Subscription, expectedRevision: Int, scope: TenantScope, on db: SQLiteConnection) async throws -> Bool {
        var stored = subscription
        stored.revision = expectedRevision + 1
        return !(try await db.query(
            "UPDATE subscriptions SET state = ?, period_end = ?, closed = ?, revision = ?, document = ? WHERE id = ? AND tenant_id = ? AND revision = ? RETURNING id",
            [.text(stored.state.rawValue), .integer(Int(stored.periodEnd)), .integer(stored.closed ? 1 : 0), .integer(stored.revision),
             .text(StoredBilling.text(stored.json)), .text(stored.id.rawValue), .text(scope.tenantID.rawValue), .integer(expectedRevision)]
        )).isEmpty
    }

    static func write(_ invoice: Invoice, expectedRevision: Int, scope: TenantScope, on db: SQLiteConnection) async throws -> Bool {
        var stored = invoice
        stored.revision = expectedRevision + 1
        return !(try await db.query(
            """
            UPDATE invoices SET status = ?, number = ?, finalize_at = ?, dunning_at = ?, revision = ?, document = ?
            WHERE id = ? AND tenant_id = ? AND revision = ? RETURNING id
            """,
            [.text(stored.status.rawValue), stored.number.map { .text($0) } ?? .null, .integer(Int(stored.finalizeAt)),
             stored.dunningAt.map { .integer(Int($0)) } ?? .null, .integer(stored.revision), .text(StoredBilling.text(stored.json)),
             .text(stored.id.rawValue), .text(scope.tenantID.rawValue), .integer(expectedRevision)]
        )).isEmpty
    }

    static func insert(_ lines: [InvoiceDraft.Line], for subscription: SubscriptionID, scope: TenantScope, on db: SQLiteConnection) async throws {
        for line in lines {
            _ = try await db.query(
                "INSERT INTO billing_pending_lines (tenant_id, subscription_id, line, currency) VALUES (?, ?, ?, ?)",
                [.text(scope.tenantID.rawValue), .text(subscription.rawValue), .text(StoredBilling.text(line.json)), .text(line.amount.currency.code)]
            )
        }
    }

    static func write(_ audit: [BillingAuditEntry], on db: SQLiteConnection) async throws {
        for entry in audit {
            _ = try await db.query(
                "INSERT INTO billing_audit (tenant_id, subject, subject_id, at, document) VALUES (?, ?, ?, ?, ?)",
                [.text(entry.tenantID.rawValue), .text(entry.subject.rawValue), .text(entry.subjectID), .integer(Int(entry.at)), .text(StoredBilling.text(entry.json))]
            )
        }
    }

    /// The next number of a gapless sequence; taken inside the caller's transaction.
    static func next(_ prefix: String, _ year: Int, on db: SQLiteConnection) async throws -> Int {
        let rows = try await db.query(
            """
            INSERT INTO billing_sequences (prefix, year, last_value) VALUES (?, ?, 1)
            ON CONFLICT (prefix, year) DO UPDATE SET last_value = last_value + 1 RETURNING last_value
            """,
            [.text(prefix), .integer(year)]
        )
        guard let value = rows.first?.column("last_value")?.integer else { throw StorageDecodingError(column: "billing_sequences.last_value") }
        return value
    }
}
