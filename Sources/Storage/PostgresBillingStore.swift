import Billing
import Core
import Logging
import PostgresNIO

/// Prices, subscriptions, invoices and the billing audit trail on PostgreSQL.
public struct PostgresBillingStore: BillingStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// `AND tenant_id = $n` for a tenant's scope; nothing for an operator's `nil`.
    static func tenantFilter(_ scope: TenantScope?, into query: inout PostgresQuery.StringInterpolation) {
        if let scope { query.appendInterpolation(unescaped: " AND tenant_id = "); query.appendInterpolation(scope.tenantID.rawValue) }
    }

    private func documents(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [String] {
        let rows = if let connection { try await connection.query(query, logger: logger).collect() } else { try await client.query(query, logger: logger).collect() }
        return try rows.map { try $0.decode(String.self) }
    }

    // MARK: Prices

    public func insertPrices(_ plan: PricePlan, at: Int64) async throws -> PricePlan {
        try await client.transaction(logger: logger) { tx in
            // Versions of one key are numbered one writer at a time.
            try await tx.query("SELECT pg_advisory_xact_lock(hashtext(\("plan_prices:" + plan.key)))", logger: logger)
            let rows = try await tx.query("SELECT COALESCE(max(version), 0)::int8 FROM plan_prices WHERE plan_key = \(plan.key)", logger: logger).collect()
            var stored = plan
            stored.version = Int(try rows.first?.decode(Int64.self) ?? 0) + 1
            try await tx.query(
                "INSERT INTO plan_prices (plan_key, version, document, created_at) VALUES (\(plan.key), \(stored.version), \(StoredBilling.text(stored.json)), \(at))",
                logger: logger
            )
            return stored
        }
    }

    public func priceVersions(of key: String) async throws -> [PricePlan] {
        try await documents("SELECT document FROM plan_prices WHERE plan_key = \(key) ORDER BY version").map(StoredBilling.prices)
    }

    public func prices(of key: String, version: Int?) async throws -> PricePlan? {
        let texts = if let version {
            try await documents("SELECT document FROM plan_prices WHERE plan_key = \(key) AND version = \(version)")
        } else {
            try await documents("SELECT document FROM plan_prices WHERE plan_key = \(key) ORDER BY version DESC LIMIT 1")
        }
        return try texts.first.map(StoredBilling.prices)
    }

    public func latestPrices() async throws -> [PricePlan] {
        try await documents("SELECT DISTINCT ON (plan_key) document FROM plan_prices ORDER BY plan_key, version DESC").map(StoredBilling.prices)
    }

    // MARK: Accounts

    public func account(in scope: TenantScope) async throws -> BillingAccount? {
        let rows = try await client.query(
            "SELECT tax_basis_points, time_zone FROM billing_accounts WHERE tenant_id = \(scope.tenantID.rawValue)", logger: logger
        ).collect()
        return try rows.first.map {
            let (points, zone) = try $0.decode((Int32, String).self)
            return BillingAccount(taxBasisPoints: Int(points), timeZone: zone)
        }
    }

    public func accounts(of scopes: [TenantScope]) async throws -> [TenantID: BillingAccount] {
        guard !scopes.isEmpty else { return [:] }
        let rows = try await client.query(
            "SELECT tenant_id, tax_basis_points, time_zone FROM billing_accounts WHERE tenant_id = ANY(\(scopes.map(\.tenantID.rawValue)))", logger: logger
        ).collect()
        var out: [TenantID: BillingAccount] = [:]
        for row in rows {
            let (tenant, points, zone) = try row.decode((String, Int32, String).self)
            guard let id = TenantID(tenant) else { throw StorageDecodingError(column: "tenant_id") }
            out[id] = BillingAccount(taxBasisPoints: Int(points), timeZone: zone)
        }
        return out
    }

    public func setAccount(_ account: BillingAccount, in scope: TenantScope, at: Int64) async throws {
        try await client.query(
            """
            INSERT INTO billing_accounts (tenant_id, tax_basis_points, time_zone, updated_at)
            VALUES (\(scope.tenantID.rawValue), \(Int32(account.taxBasisPoints)), \(account.timeZone), \(at))
            ON CONFLICT (tenant_id) DO UPDATE SET tax_basis_points = excluded.tax_basis_points, time_zone = excluded.time_zone, updated_at = excluded.updated_at
            """,
            logger: logger
        )
    }

    // MARK: Subscriptions

    public func insertSubscription(_ subscription: Subscription, audit: [BillingAuditEntry], in scope: TenantScope) async throws {
        do {
            try await client.transaction(logger: logger) { tx in
                try await tx.query(
                    """
                    INSERT INTO subscriptions (id, tenant_id, state, period_end, closed, revision, document)
                    VALUES (\(subscription.id.rawValue), \(scope.tenantID.rawValue), \(subscription.state.rawValue), \(subscription.periodEnd),
                            \(subscription.closed), \(Int32(subscription.revision)), \(StoredBilling.text(subscription.json)))
                    """,
                    logger: logger
                )
                try await Self.write(audit, on: tx, logger: logger)
            }
        } catch let error as PSQLError where PostgresEntitlementStore.isUniqueViolation(error) {
            throw StoredBilling.exists(scope.tenantID)
        }
    }

    public func subscription(_ id: SubscriptionID, in scope: TenantScope?) async throws -> Subscription? {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 80, interpolationCount: 2)
        query.appendInterpolation(unescaped: "SELECT document FROM subscriptions WHERE id = ")
        query.appendInterpolation(id.rawValue)
        Self.tenantFilter(scope, into: &query)
        return try await documents(PostgresQuery(stringInterpolation: query)).first.map(StoredBilling.subscription)
    }

    public func subscriptions(in scope: TenantScope?, limit: Int, before: SubscriptionID?) async throws -> [Subscription] {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 120, interpolationCount: 3)
        query.appendInterpolation(unescaped: "SELECT document FROM subscriptions WHERE true")
        Self.tenantFilter(scope, into: &query)
        if let before { query.appendInterpolation(unescaped: " AND id < "); query.appendInterpolation(before.rawValue) }
        query.appendInterpolation(unescaped: " ORDER BY id DESC LIMIT ")
        query.appendInterpolation(limit)
        return try await documents(PostgresQuery(stringInterpolation: query)).map(StoredBilling.subscription)
    }

    public func updateSubscription(
        _ subscription: Subscription, expectedRevision: Int, pendingLines: [InvoiceDraft.Line], audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Bool {
        do {
            return try await client.transaction(logger: logger) { tx in
                guard try await Self.write(subscription, expectedRevision: expectedRevision, scope: scope, on: tx, logger: logger) else { return false }
                try await Self.insert(pendingLines, for: subscription.id, scope: scope, on: tx, logger: logger)
                try await Self.write(audit, on: tx, logger: logger)
                return true
            }
        } catch let error as PSQLError where PostgresEntitlementStore.isUniqueViolation(error) {
            throw StoredBilling.exists(scope.tenantID)
        }
    }

    public func dueSubscriptions(now: Int64, limit: Int) async throws -> [Subscription] {
        try await documents("SELECT document FROM subscriptions WHERE NOT closed AND period_end <= \(now) ORDER BY period_end, id LIMIT \(limit)")
            .map(StoredBilling.subscription)
    }

    public func pendingLines(of subscriptions: [Subscription]) async throws -> [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]] {
        guard !subscriptions.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT p.id, p.subscription_id, p.line, p.currency FROM billing_pending_lines p
            JOIN unnest(\(subscriptions.map(\.id.rawValue))::text[], \(subscriptions.map(\.tenantID.rawValue))::text[]) AS s(id, tenant_id)
              ON p.subscription_id = s.id AND p.tenant_id = s.tenant_id
            WHERE p.invoice_id IS NULL ORDER BY p.id
            """,
            logger: logger
        ).collect()
        var out: [SubscriptionID: [(id: Int64, line: InvoiceDraft.Line)]] = [:]
        for row in rows {
            let (id, subscription, line, currency) = try row.decode((Int64, String, String, String).self)
            guard let subscriptionID = SubscriptionID(subscription) else { throw StorageDecodingError(column: "subscription_id") }
            out[subscriptionID, default: []].append((id, try StoredBilling.line(line, currency: currency)))
        }
        return out
    }

    // MARK: Billing run

    public func recordPeriod(
        subscription: Subscription, expectedRevision: Int, invoice: Invoice?, consumedLines: [Int64], newPendingLines: [InvoiceDraft.Line],
        audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Bool {
        do {
            return try await client.transaction(logger: logger) { tx in
                guard try await Self.write(subscription, expectedRevision: expectedRevision, scope: scope, on: tx, logger: logger) else { return false }
                if let invoice {
                    try await tx.query(
                        """
                        INSERT INTO invoices (id, tenant_id, subscription_id, period_start, status, number, finalize_at, dunning_at, revision, document)
                        VALUES (\(invoice.id.rawValue), \(scope.tenantID.rawValue), \(invoice.subscriptionID.rawValue), \(invoice.periodStart),
                                \(invoice.status.rawValue), \(invoice.number), \(invoice.finalizeAt), \(invoice.dunningAt), \(Int32(invoice.revision)),
                                \(StoredBilling.text(invoice.json)))
                        """,
                        logger: logger
                    )
                    if !consumedLines.isEmpty {
                        let taken = try await tx.query(
                            """
                            UPDATE billing_pending_lines SET invoice_id = \(invoice.id.rawValue)
                            WHERE id = ANY(\(consumedLines)) AND tenant_id = \(scope.tenantID.rawValue) AND invoice_id IS NULL RETURNING id
                            """,
                            logger: logger
                        ).collect()
                        guard taken.count == consumedLines.count else { throw LostRace() }
                    }
                }
                try await Self.insert(newPendingLines, for: subscription.id, scope: scope, on: tx, logger: logger)
                try await Self.write(audit, on: tx, logger: logger)
                return true
            }
        } catch is LostRace {
            return false
        } catch let error as PSQLError where PostgresEntitlementStore.isUniqueViolation(error) {
            // The period was invoiced by another run: nothing of this one is kept.
            return false
        }
    }

    /// Set-based: one `UPDATE … FROM unnest(…)` for the subscriptions (revision-checked), one
    /// `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` for the invoices, one for the
    /// audit entries; a count short of the batch (a lost race, a period already invoiced)
    /// rolls the whole transaction back.
    public func recordPeriods(_ records: [BillingPeriodRecord]) async throws -> Bool {
        guard !records.isEmpty else { return true }
        let invoices = records.compactMap(\.invoice)
        // Drafts only: they have no number and no dunning date, which unnest carries as NULL.
        guard invoices.allSatisfy({ $0.number == nil && $0.dunningAt == nil }), records.allSatisfy({ $0.scope.tenantID == $0.subscription.tenantID }) else {
            return false
        }
        let stored = records.map { record -> Subscription in
            var next = record.subscription
            next.revision = record.expectedRevision + 1
            return next
        }
        let audit = records.flatMap(\.audit)
        do {
            return try await client.transaction(logger: logger) { tx in
                let updated = try await tx.query(
                    """
                    UPDATE subscriptions s SET state = u.state, period_end = u.period_end, closed = u.closed, revision = u.expected + 1, document = u.document
                    FROM unnest(\(stored.map(\.id.rawValue))::text[], \(stored.map(\.tenantID.rawValue))::text[], \(records.map { Int32($0.expectedRevision) })::int4[],
                                \(stored.map(\.state.rawValue))::text[], \(stored.map(\.periodEnd))::int8[], \(stored.map(\.closed))::bool[],
                                \(stored.map { StoredBilling.text($0.json) })::text[])
                         AS u(id, tenant_id, expected, state, period_end, closed, document)
                    WHERE s.id = u.id AND s.tenant_id = u.tenant_id AND s.revision = u.expected
                    RETURNING s.id
                    """,
                    logger: logger
                ).collect()
                guard updated.count == records.count else { throw LostRace() }
                if !invoices.isEmpty {
                    let inserted = try await tx.query(
                        """
                        INSERT INTO invoices (id, tenant_id, subscription_id, period_start, status, number, finalize_at, dunning_at, revision, document)
                        SELECT id, tenant_id, subscription_id, period_start, status, NULL, finalize_at, NULL, revision, document
                        FROM unnest(\(invoices.map(\.id.rawValue))::text[], \(invoices.map(\.tenantID.rawValue))::text[], \(invoices.map(\.subscriptionID.rawValue))::text[],
                                    \(invoices.map(\.periodStart))::int8[], \(invoices.map(\.status.rawValue))::text[], \(invoices.map(\.finalizeAt))::int8[],
                                    \(invoices.map { Int32($0.revision) })::int4[], \(invoices.map { StoredBilling.text($0.json) })::text[])
                             AS v(id, tenant_id, subscription_id, period_start, status, finalize_at, revision, document)
                        ON CONFLICT DO NOTHING RETURNING id
                        """,
                        logger: logger
                    ).collect()
                    guard inserted.count == invoices.count else { throw LostRace() }
                }
                if !audit.isEmpty {
                    try await tx.query(
                        """
                        INSERT INTO billing_audit (tenant_id, subject, subject_id, at, document)
                        SELECT * FROM unnest(\(audit.map(\.tenantID.rawValue))::text[], \(audit.map(\.subject.rawValue))::text[], \(audit.map(\.subjectID))::text[],
                                             \(audit.map(\.at))::int8[], \(audit.map { StoredBilling.text($0.json) })::text[])
                        """,
                        logger: logger
                    )
                }
                return true
            }
        } catch is LostRace {
            return false
        }
    }

    /// Thrown inside a transaction to roll it back when a row another writer took is needed.
    struct LostRace: Error {}

    // MARK: Invoices

    public func invoice(_ id: InvoiceID, in scope: TenantScope?) async throws -> Invoice? {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 80, interpolationCount: 2)
        query.appendInterpolation(unescaped: "SELECT document FROM invoices WHERE id = ")
        query.appendInterpolation(id.rawValue)
        Self.tenantFilter(scope, into: &query)
        return try await documents(PostgresQuery(stringInterpolation: query)).first.map(StoredBilling.invoice)
    }

    public func invoices(in scope: TenantScope?, status: Invoice.Status?, subscription: SubscriptionID?, limit: Int, before: InvoiceID?) async throws -> [Invoice] {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 160, interpolationCount: 5)
        query.appendInterpolation(unescaped: "SELECT document FROM invoices WHERE true")
        Self.tenantFilter(scope, into: &query)
        if let status { query.appendInterpolation(unescaped: " AND status = "); query.appendInterpolation(status.rawValue) }
        if let subscription { query.appendInterpolation(unescaped: " AND subscription_id = "); query.appendInterpolation(subscription.rawValue) }
        if let before { query.appendInterpolation(unescaped: " AND id < "); query.appendInterpolation(before.rawValue) }
        query.appendInterpolation(unescaped: " ORDER BY id DESC LIMIT ")
        query.appendInterpolation(limit)
        return try await documents(PostgresQuery(stringInterpolation: query)).map(StoredBilling.invoice)
    }

    public func invoices(of subscriptions: [Subscription], since: Int64) async throws -> [SubscriptionID: [Invoice]] {
        guard !subscriptions.isEmpty else { return [:] }
        let texts = try await documents(
            """
            SELECT i.document FROM invoices i
            JOIN unnest(\(subscriptions.map(\.id.rawValue))::text[], \(subscriptions.map(\.tenantID.rawValue))::text[]) AS s(id, tenant_id)
              ON i.subscription_id = s.id AND i.tenant_id = s.tenant_id
            WHERE i.status <> 'void' AND i.period_start >= \(since) ORDER BY i.id DESC
            """
        )
        var out: [SubscriptionID: [Invoice]] = [:]
        for text in texts {
            let invoice = try StoredBilling.invoice(text)
            out[invoice.subscriptionID, default: []].append(invoice)
        }
        return out
    }

    public func dueDrafts(now: Int64, limit: Int) async throws -> [Invoice] {
        try await documents("SELECT document FROM invoices WHERE status = 'draft' AND finalize_at <= \(now) ORDER BY finalize_at, id LIMIT \(limit)")
            .map(StoredBilling.invoice)
    }

    public func invoicesInDunning(now: Int64, limit: Int) async throws -> [Invoice] {
        try await documents("SELECT document FROM invoices WHERE status = 'open' AND dunning_at <= \(now) ORDER BY dunning_at, id LIMIT \(limit)")
            .map(StoredBilling.invoice)
    }

    public func finalize(
        _ invoice: Invoice, expectedRevision: Int, prefix: String, year: Int, carry: [InvoiceDraft.Line], audit: [BillingAuditEntry], in scope: TenantScope
    ) async throws -> Invoice? {
        do {
            return try await client.transaction(logger: logger) { tx in
                var numbered = invoice
                numbered.number = InvoiceNumber(prefix: prefix, year: year, sequence: try await Self.next(prefix, year, on: tx, logger: logger)).description
                guard try await Self.write(numbered, expectedRevision: expectedRevision, scope: scope, on: tx, logger: logger) else { throw LostRace() }
                try await Self.insert(carry, for: invoice.subscriptionID, scope: scope, on: tx, logger: logger)
                try await Self.write(audit, on: tx, logger: logger)
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
            return try await client.transaction(logger: logger) { tx in
                guard try await Self.write(invoice, expectedRevision: expectedRevision, scope: scope, on: tx, logger: logger) else { return false }
                if let (next, revision) = subscription {
                    guard try await Self.write(next, expectedRevision: revision, scope: scope, on: tx, logger: logger) else { throw LostRace() }
                }
                try await Self.write(audit, on: tx, logger: logger)
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
            return try await client.transaction(logger: logger) { tx in
                guard try await Self.write(invoice, expectedRevision: expectedRevision, scope: scope, on: tx, logger: logger) else { throw LostRace() }
                var numbered = note
                numbered.number = InvoiceNumber(prefix: prefix, year: year, sequence: try await Self.next(prefix, year, on: tx, logger: logger)).description
                try await tx.query(
                    """
                    INSERT INTO credit_notes (id, tenant_id, invoice_id, number, document)
                    VALUES (\(numbered.id.rawValue), \(scope.tenantID.rawValue), \(numbered.invoiceID.rawValue), \(numbered.number),
                            \(StoredBilling.text(numbered.json)))
                    """,
                    logger: logger
                )
                try await Self.write(audit, on: tx, logger: logger)
                return numbered
            }
        } catch is LostRace {
            return nil
        }
    }

    public func creditNotes(of invoice: InvoiceID, in scope: TenantScope?) async throws -> [CreditNote] {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 100, interpolationCount: 2)
        query.appendInterpolation(unescaped: "SELECT document FROM credit_notes WHERE invoice_id = ")
        query.appendInterpolation(invoice.rawValue)
        Self.tenantFilter(scope, into: &query)
        query.appendInterpolation(unescaped: " ORDER BY id")
        return try await documents(PostgresQuery(stringInterpolation: query)).map(StoredBilling.creditNote)
    }

    // MARK: Audit

    public func audit(of subjectID: String, in scope: TenantScope?) async throws -> [BillingAuditEntry] {
        var query = PostgresQuery.StringInterpolation(literalCapacity: 100, interpolationCount: 2)
        query.appendInterpolation(unescaped: "SELECT document FROM billing_audit WHERE subject_id = ")
        query.appendInterpolation(subjectID)
        Self.tenantFilter(scope, into: &query)
        query.appendInterpolation(unescaped: " ORDER BY id")
        return try await documents(PostgresQuery(stringInterpolation: query)).map(StoredBilling.audit)
    }

    // MARK: Writes inside a transaction

    static func write(_ subscription: Subscription, expectedRevision: Int, scope: TenantScope, on tx: PostgresConnection, logger: Logger) async throws -> Bool {
        var stored = subscription
        stored.revision = expectedRevision + 1
        return try await tx.query(
            """
            UPDATE subscriptions SET state = \(stored.state.rawValue), period_end = \(stored.periodEnd), closed = \(stored.closed),
                revision = \(Int32(stored.revision)), document = \(StoredBilling.text(stored.json))
            WHERE id = \(stored.id.rawValue) AND tenant_id = \(scope.tenantID.rawValue) AND revision = \(Int32(expectedRevision)) RETURNING id
            """,
            logger: logger
        ).collect().count == 1
    }

    static func write(_ invoice: Invoice, expectedRevision: Int, scope: TenantScope, on tx: PostgresConnection, logger: Logger) async throws -> Bool {
        var stored = invoice
        stored.revision = expectedRevision + 1
        return try await tx.query(
            """
            UPDATE invoices SET status = \(stored.status.rawValue), number = \(stored.number), finalize_at = \(stored.finalizeAt), dunning_at = \(stored.dunningAt),
                revision = \(Int32(stored.revision)), document = \(StoredBilling.text(stored.json))
            WHERE id = \(stored.id.rawValue) AND tenant_id = \(scope.tenantID.rawValue) AND revision = \(Int32(expectedRevision)) RETURNING id
            """,
            logger: logger
        ).collect().count == 1
    }

    static func insert(_ lines: [InvoiceDraft.Line], for subscription: SubscriptionID, scope: TenantScope, on tx: PostgresConnection, logger: Logger) async throws {
        for line in lines {
            try await tx.query(
                """
                INSERT INTO billing_pending_lines (tenant_id, subscription_id, line, currency)
                VALUES (\(scope.tenantID.rawValue), \(subscription.rawValue), \(StoredBilling.text(line.json)), \(line.amount.currency.code))
                """,
                logger: logger
            )
        }
    }

    static func write(_ audit: [BillingAuditEntry], on tx: PostgresConnection, logger: Logger) async throws {
        for entry in audit {
            try await tx.query(
                """
                INSERT INTO billing_audit (tenant_id, subject, subject_id, at, document)
                VALUES (\(entry.tenantID.rawValue), \(entry.subject.rawValue), \(entry.subjectID), \(entry.at), \(StoredBilling.text(entry.json)))
                """,
                logger: logger
            )
        }
    }

    /// The next number of a gapless sequence; the row stays locked until the caller commits.
    static func next(_ prefix: String, _ year: Int, on tx: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await tx.query(
            """
            INSERT INTO billing_sequences (prefix, year, last_value) VALUES (\(prefix), \(Int32(year)), 1)
            ON CONFLICT (prefix, year) DO UPDATE SET last_value = billing_sequences.last_value + 1 RETURNING last_value
            """,
            logger: logger
        ).collect()
        guard let value = try rows.first?.decode(Int32.self) else { throw StorageDecodingError(column: "billing_sequences.last_value") }
        return Int(value)
    }
}
