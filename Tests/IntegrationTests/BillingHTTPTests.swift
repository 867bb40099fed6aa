import Billing
import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Scheduler
import Synchronization
import Platform
import TallyTestSupport
import Testing

/// Billing end to end on both backends, with time moved by hand: plans with prices, a
/// subscription, usage, billing runs, finalization, late usage, payments, credit notes and
/// dunning, checked against an independent calculation.
@Suite struct BillingHTTPTests {
    /// 2026-03-10T10:00:30Z: subscriptions start on the minute, 10:00:00.
    static let start = Date(timeIntervalSince1970: 1_773_136_830)
    static let periodStart = 1_773_136_800.0
    /// 2026-04-10T10:00:00Z.
    static let periodEnd = 1_775_815_200.0

    static func time(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    static func event(_ id: String, type: String, at seconds: Double, data: [String: Any] = [:]) -> [String: Any] {
        ["specversion": "1.0", "id": id, "source": "//billing-test", "type": type, "time": time(seconds), "data": data]
    }

    static var plan: [String: Any] { [
        "key": "metered", "name": "Metered",
        "entitlements": ["api-calls": ["limit": 100_000]],
        "prices": [
            "interval": "month", "currency": "USD", "minimum_commitment": "25.00",
            "charges": [
                ["key": "base", "type": "flat", "description": "Platform fee", "amount": "20.00"],
                ["key": "calls", "type": "per_unit", "meter": "calls", "description": "API calls", "unit_price": "0.05", "free_units": "3"],
                ["key": "storage", "type": "graduated", "meter": "gb", "description": "Storage",
                 "tiers": [["up_to": "10", "unit_price": "1.00"], ["up_to": nil, "unit_price": "0.50"]]],
            ],
        ] as [String: Any],
    ] }

    /// The invoice the plan above makes, worked out here with Foundation's Decimal.
    static func expected(calls: Int, gb: Decimal, taxPercent: Decimal) -> (subtotal: Decimal, tax: Decimal, total: Decimal) {
        func round2(_ value: Decimal) -> Decimal {
            var input = value, output = Decimal()
            NSDecimalRound(&output, &input, 2, .plain)
            return output
        }
        let callCharge = round2(Decimal(max(0, calls - 3)) * Decimal(string: "0.05")!)
        let storage = round2(min(gb, 10) * 1 + max(0, gb - 10) * Decimal(string: "0.5")!)
        let subtotal = max(Decimal(25), 20 + callCharge + storage)
        let tax = round2(subtotal * taxPercent / 100)
        return (subtotal, tax, subtotal + tax)
    }

    static func decimal(_ any: Any?) -> Decimal? { (any as? String).flatMap { Decimal(string: $0) } }

    /// A tenant with meters `calls` (COUNT of api.call) and `gb` (SUM of data.n), the feature
    /// `api-calls`, and the plan `metered` with prices.
    static func setUp(_ server: TestServer) async throws -> (tenantID: String, keyID: String, token: String) {
        let tenant = try await server.makeTenant("billed")
        _ = try await server.call(.post, "/v1/meters", token: tenant.token, json: ["slug": "calls", "event_type": "api.call", "aggregation": "COUNT"])
        _ = try await server.call(.post, "/v1/meters", token: tenant.token, json: ["slug": "gb", "event_type": "storage", "aggregation": "SUM", "value_path": "n"])
        let feature = try await server.call(.post, "/v1/features", token: server.operatorToken, json: ["key": "api-calls", "name": "API calls", "kind": "metered", "meter": "calls"])
        #expect(feature.status == 201, "\(feature)")
        let plan = try await server.call(.post, "/v1/plans", token: server.operatorToken, json: plan)
        #expect(plan.status == 201, "\(plan)")
        #expect((plan.object["prices"] as? [String: Any])?["version"] as? Int == 1)
        return tenant
    }

    @Test(arguments: TestBackend.available)
    func postEventsRunBillingAndTheInvoiceMatchesAnIndependentCalculation(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        try await TestServer.run(backend, clock: clock) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            #expect(try await server.call(.put, "/v1/tenants/\(tenant.tenantID)/billing", token: op, json: ["tax_rate": "8.25"]).status == 200)
            let created = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"])
            #expect(created.status == 201, "\(created)")
            let subscriptionID = try #require(created.object["id"] as? String)
            #expect(created.object["state"] as? String == "active")
            #expect(created.object["current_period_start"] as? String == Self.time(Self.periodStart))
            #expect(created.object["current_period_end"] as? String == Self.time(Self.periodEnd))
            // The tenant's entitlements follow the subscription's plan.
            let entitlements = try await server.call(.get, "/v1/entitlements", token: tenant.token)
            #expect((entitlements.items.first { $0["feature"] as? String == "api-calls" })?["allowed"] as? Bool == true, "\(entitlements)")
            let again = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"])
            #expect(again.status == 409 && again.code == "subscription_exists", "\(again)")

            // Random usage inside the period, and some just outside it that must not count.
            clock.set(Date(timeIntervalSince1970: Self.periodStart + 20 * 86_400))
            var generator = SystemRandomNumberGenerator()
            let calls = Int.random(in: 0...40, using: &generator)
            var gb = Decimal(0)
            var events: [[String: Any]] = (0..<calls).map { Self.event("c\($0)", type: "api.call", at: Self.periodStart + Double($0) * 3_600) }
            for index in 0..<12 {
                let amount = Decimal(Int.random(in: 0...300, using: &generator)) / 100
                gb += amount
                events.append(Self.event("g\(index)", type: "storage", at: Self.periodStart + Double(index) * 7_200 + 59, data: ["n": "\(amount)"]))
            }
            events.append(Self.event("before", type: "api.call", at: Self.periodStart - 1))
            let posted = try await server.call(.post, "/v1/events", token: tenant.token, json: events, headers: [.contentType: "application/cloudevents-batch+json"])
            #expect(posted.status == 200, "\(posted)")

            // The period ends; the billing run drafts one invoice however often it runs.
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 300))
            let run = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(run.status == 200 && run.object["invoiced"] as? Int == 1, "\(run)")
            #expect(try await server.call(.post, "/v1/billing/runs", token: op).object["invoiced"] as? Int == 0)
            let drafts = try await server.call(.get, "/v1/invoices", token: tenant.token)
            #expect(drafts.items.count == 1)
            let draft = try #require(drafts.items.first)
            let invoiceID = try #require(draft["id"] as? String)
            var want = Self.expected(calls: calls, gb: gb, taxPercent: Decimal(string: "8.25")!)
            #expect(draft["status"] as? String == "draft")
            #expect(Self.decimal(draft["subtotal"]) == want.subtotal, "\(draft)")
            #expect(Self.decimal(draft["tax"]) == want.tax)
            #expect(Self.decimal(draft["total"]) == want.total)
            let lineSum = (draft["lines"] as? [[String: Any]] ?? []).compactMap { Self.decimal($0["amount"]) }.reduce(0, +)
            #expect(lineSum == want.total)

            // A late event in the grace period counts when the draft is finalized.
            let late = try await server.call(.post, "/v1/events", token: tenant.token, json: Self.event("late1", type: "api.call", at: Self.periodEnd - 60))
            #expect(late.status == 202 || late.status == 200, "\(late)")
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 300 + 3_601))
            let finalizing = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(finalizing.object["finalized"] as? Int == 1, "\(finalizing)")
            let finalized = try await server.call(.get, "/v1/invoices/\(invoiceID)", token: tenant.token)
            want = Self.expected(calls: calls + 1, gb: gb, taxPercent: Decimal(string: "8.25")!)
            #expect(finalized.object["status"] as? String == "open")
            #expect(finalized.object["number"] as? String == "INV-2026-000001")
            #expect(Self.decimal(finalized.object["total"]) == want.total, "\(finalized)")
            let firstTotal = want.total

            // Finalized is immutable: usage booked now becomes an adjustment on the next invoice.
            _ = try await server.call(.post, "/v1/events", token: tenant.token, json: Self.event("late2", type: "api.call", at: Self.periodEnd - 30))
            _ = try await server.call(.post, "/v1/events", token: tenant.token, json: Self.event("late3", type: "api.call", at: Self.periodEnd - 20))
            #expect(Self.decimal(try await server.call(.get, "/v1/invoices/\(invoiceID)", token: tenant.token).object["total"]) == firstTotal)
            // 2026-05-10T10:00:00Z ends the second period.
            clock.set(Date(timeIntervalSince1970: 1_778_407_200 + 60))
            #expect(try await server.call(.post, "/v1/billing/runs", token: op).object["invoiced"] as? Int == 1)
            let second = try #require(try await server.call(.get, "/v1/invoices?status=draft", token: tenant.token).items.first)
            let adjustments = (second["lines"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "adjustment" }
            let expectedAdjustment = Self.expected(calls: calls + 3, gb: gb, taxPercent: 0).subtotal - Self.expected(calls: calls + 1, gb: gb, taxPercent: 0).subtotal
            if expectedAdjustment == 0 {
                #expect(adjustments.isEmpty, "\(second)")
            } else {
                #expect(adjustments.count == 1, "\(second)")
                #expect(Self.decimal(adjustments.first?["amount"]) == expectedAdjustment)
                #expect(adjustments.first?["period_start"] as? String == Self.time(Self.periodStart))
            }

            // Payments and corrections: operators only.
            let forbidden = try await server.call(.post, "/v1/invoices/\(invoiceID)/mark-paid", token: tenant.token)
            #expect(forbidden.status == 403)
            let tooMuch = try await server.call(.post, "/v1/invoices/\(invoiceID)/credit-notes", token: op, json: ["amount": "100000.00", "reason": "x"])
            #expect(tooMuch.status == 422 && tooMuch.object["field"] as? String == "amount", "\(tooMuch)")
            let note = try await server.call(.post, "/v1/invoices/\(invoiceID)/credit-notes", token: op, json: ["amount": "1.00", "reason": "goodwill"])
            #expect(note.status == 201 && note.object["number"] as? String == "CN-2026-000001", "\(note)")
            let paid = try await server.call(.post, "/v1/invoices/\(invoiceID)/mark-paid", token: op, json: ["reference": "bank transfer 42"])
            #expect(paid.status == 200 && paid.object["status"] as? String == "paid", "\(paid)")
            #expect(try await server.call(.post, "/v1/invoices/\(invoiceID)/mark-paid", token: op).status == 409)
            #expect(try await server.call(.post, "/v1/invoices/\(invoiceID)/void", token: op).status == 409)
            let draftID = try #require(second["id"] as? String)
            #expect(try await server.call(.post, "/v1/invoices/\(draftID)/mark-paid", token: op).status == 409)

            // The printable page, the brief's aliases, the audit trail.
            let page = try await server.call(.get, "/v1/invoices/\(invoiceID)?format=html", token: tenant.token)
            #expect(page.status == 200 && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("INV-2026-000001") && page.text.contains("CN-2026-000001") && page.text.contains("Tenant billed"))
            #expect(try await server.call(.get, "/api/invoices", token: tenant.token).items.count == 2)
            #expect(try await server.call(.get, "/api/subscriptions/\(subscriptionID)", token: tenant.token).object["id"] as? String == subscriptionID)
            let trail = try await server.call(.get, "/v1/invoices/\(invoiceID)/audit", token: op).items.compactMap { $0["action"] as? String }
            #expect(trail == ["drafted", "finalized", "credited", "paid"], "\(trail)")
        }
    }

    @Test(arguments: TestBackend.available)
    func dunningSuspendsEntitlementsAndPaymentRestoresThem(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0, netDays: 10)) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            let created = try await server.call(.post, "/v1/subscriptions", token: op, json: ["plan": "metered", "tenant_id": tenant.tenantID])
            #expect(created.status == 201, "\(created)")
            let subscriptionID = try #require(created.object["id"] as? String)
            func state() async throws -> String? {
                try await server.call(.get, "/v1/subscriptions/\(subscriptionID)", token: tenant.token).object["state"] as? String
            }
            func entitled() async throws -> Bool? {
                let list = try await server.call(.get, "/v1/entitlements", token: tenant.token)
                return (list.items.first { $0["feature"] as? String == "api-calls" })?["allowed"] as? Bool
            }
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60))
            let run = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(run.object["invoiced"] as? Int == 1 && run.object["finalized"] as? Int == 1, "\(run)")
            let invoiceID = try #require(try await server.call(.get, "/v1/invoices", token: op).items.first?["id"] as? String)
            // Due after 10 days; the standard schedule: retries and reminders, grace on day 7, suspension on day 14.
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60 + 10 * 86_400 + 1))
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(try await state() == "past_due")
            #expect(try await entitled() == true)
            clock.advance(7 * 86_400)
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(try await state() == "grace")
            clock.advance(7 * 86_400)
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(try await state() == "suspended")
            #expect(try await entitled() != true)
            // Ingest keeps recording while suspended.
            let booked = try await server.call(.post, "/v1/events", token: tenant.token, json: Self.event("while-suspended", type: "api.call", at: clock.now().timeIntervalSince1970 - 5))
            #expect(booked.status == 202 || booked.status == 200, "\(booked)")
            // Paying reactivates the subscription and its entitlements.
            #expect(try await server.call(.post, "/v1/invoices/\(invoiceID)/mark-paid", token: op).status == 200)
            #expect(try await state() == "active")
            #expect(try await entitled() == true)
            let trail = try await server.call(.get, "/v1/subscriptions/\(subscriptionID)/audit", token: op).items.compactMap { $0["to"] as? String }
            #expect(trail.suffix(4) == ["past_due", "grace", "suspended", "active"], "\(trail)")
        }
    }

    @Test(arguments: TestBackend.available)
    func trialsPlanChangesAndCancellation(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0)) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            var bigger = Self.plan
            bigger["key"] = "bigger"
            var prices = bigger["prices"] as! [String: Any]
            prices["charges"] = [["key": "base", "type": "flat", "description": "Platform fee", "amount": "50.00"]]
            prices["minimum_commitment"] = nil
            bigger["prices"] = prices
            #expect(try await server.call(.post, "/v1/plans", token: op, json: bigger).status == 201)

            // A 14-day trial is not invoiced; periods then count from the trial's end.
            let created = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered", "trial_days": 14])
            #expect(created.object["state"] as? String == "trialing", "\(created)")
            let id = try #require(created.object["id"] as? String)
            let trialEnd = Self.periodStart + 14 * 86_400
            #expect(created.object["current_period_end"] as? String == Self.time(trialEnd))
            clock.set(Date(timeIntervalSince1970: trialEnd + 1))
            let converted = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(converted.object["trials_ended"] as? Int == 1 && converted.object["invoiced"] as? Int == 0, "\(converted)")
            let active = try await server.call(.get, "/v1/subscriptions/\(id)", token: tenant.token)
            #expect(active.object["state"] as? String == "active")
            #expect(active.object["current_period_start"] as? String == Self.time(trialEnd))

            // Halfway through the period, change plan now: credit half of 20.00, charge half of 50.00.
            let periodEnd = try #require((active.object["current_period_end"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }?.timeIntervalSince1970)
            let middle = trialEnd + (periodEnd - trialEnd) / 2
            clock.set(Date(timeIntervalSince1970: middle))
            let changed = try await server.call(.post, "/v1/subscriptions/\(id)/change-plan", token: tenant.token, json: ["plan": "bigger", "at": "now"])
            #expect(changed.status == 200 && changed.object["plan"] as? String == "bigger", "\(changed)")
            let badTiming = try await server.call(.post, "/v1/subscriptions/\(id)/change-plan", token: tenant.token, json: ["plan": "bigger", "at": "tomorrow"])
            #expect(badTiming.status == 422 && badTiming.object["field"] as? String == "at")
            // Cancel at period end: the period is invoiced, then the subscription ends.
            #expect(try await server.call(.post, "/v1/subscriptions/\(id)/cancel", token: tenant.token, json: ["at": "period_end"]).object["cancel_at_period_end"] as? Bool == true)
            clock.set(Date(timeIntervalSince1970: periodEnd + 1))
            let closing = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(closing.object["invoiced"] as? Int == 1 && closing.object["canceled"] as? Int == 1, "\(closing)")
            let invoice = try #require(try await server.call(.get, "/v1/invoices", token: tenant.token).items.first)
            let lines = invoice["lines"] as? [[String: Any]] ?? []
            let prorations = lines.filter { $0["kind"] as? String == "proration" }.compactMap { Self.decimal($0["amount"]) }.sorted()
            #expect(prorations == [-10, 25], "\(lines)")
            // The new plan's full fee for the period, plus the proration lines.
            #expect(Self.decimal(invoice["total"]) == Decimal(string: "65"), "\(invoice)")
            let ended = try await server.call(.get, "/v1/subscriptions/\(id)", token: tenant.token)
            #expect(ended.object["state"] as? String == "canceled" && ended.object["closed"] as? Bool == true)
            #expect(try await server.call(.post, "/v1/billing/runs", token: op).object["invoiced"] as? Int == 0)
            // Canceled: a new subscription may start; canceling now ends it without billing an empty period.
            let next = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "bigger"])
            #expect(next.status == 201, "\(next)")
            let nextID = try #require(next.object["id"] as? String)
            let canceled = try await server.call(.post, "/v1/subscriptions/\(nextID)/cancel", token: tenant.token, json: ["at": "now"])
            #expect(canceled.object["state"] as? String == "canceled", "\(canceled)")
            #expect(try await server.call(.post, "/v1/subscriptions/\(nextID)/cancel", token: tenant.token).status == 409)
        }
    }

    @Test(arguments: TestBackend.available)
    func badBillingInputGetsProblemsAndChangesNothing(backend: TestBackend) async throws {
        try await TestServer.run(backend) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            var broken = Self.plan
            broken["key"] = "broken"
            var prices = broken["prices"] as! [String: Any]
            prices["charges"] = [["key": "x", "type": "tiered"]]
            broken["prices"] = prices
            let reply = try await server.call(.post, "/v1/plans", token: op, json: broken)
            #expect(reply.status == 422 && reply.object["field"] as? String == "prices.charges[0].type", "\(reply)")
            #expect(try await server.call(.get, "/v1/plans/broken", token: op).status == 404)
            let unknown = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "nope"])
            #expect(unknown.status == 422 && unknown.code == "unknown_plan" && unknown.object["field"] as? String == "plan", "\(unknown)")
            let extra = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered", "colour": "red"])
            #expect(extra.status == 422 && extra.object["field"] as? String == "colour")
            let zone = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered", "time_zone": "Mars/Olympus"])
            #expect(zone.status == 422 && zone.object["field"] as? String == "time_zone")
            let operatorWithoutTenant = try await server.call(.post, "/v1/subscriptions", token: op, json: ["plan": "metered"])
            #expect(operatorWithoutTenant.status == 422 && operatorWithoutTenant.object["field"] as? String == "tenant_id")
            let tax = try await server.call(.put, "/v1/tenants/\(tenant.tenantID)/billing", token: op, json: ["tax_rate": "101"])
            #expect(tax.status == 422 && tax.object["field"] as? String == "tax_rate")
            #expect(try await server.call(.get, "/v1/billing/account", token: tenant.token).object["tax_rate"] as? String == "0.00")
            #expect(try await server.call(.get, "/v1/subscriptions", token: tenant.token).items.isEmpty)
            // A plan edit that changes nothing makes no version; a change makes version 2.
            let same = try await server.call(.patch, "/v1/plans/metered", token: op, json: ["prices": Self.plan["prices"]!])
            #expect((same.object["prices"] as? [String: Any])?["version"] as? Int == 1, "\(same)")
            var cheaper = Self.plan["prices"] as! [String: Any]
            cheaper["minimum_commitment"] = "5.00"
            let changed = try await server.call(.patch, "/v1/plans/metered", token: op, json: ["prices": cheaper])
            #expect((changed.object["prices"] as? [String: Any])?["version"] as? Int == 2, "\(changed)")
            #expect(try await server.call(.get, "/v1/plans/metered/prices", token: op).items.count == 2)
            // Another tenant sees none of this tenant's billing.
            let other = try await server.makeTenant("other")
            let mine = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered", "plan_version": 1])
            #expect(mine.object["plan_version"] as? Int == 1)
            let id = try #require(mine.object["id"] as? String)
            #expect(try await server.call(.get, "/v1/subscriptions/\(id)", token: other.token).status == 404)
            #expect(try await server.call(.post, "/v1/subscriptions/\(id)/cancel", token: other.token).status == 404)
            #expect(try await server.call(.get, "/v1/subscriptions", token: other.token).items.isEmpty)
        }
    }

    @Test(arguments: TestBackend.available)
    func signedProviderCallbacksFailAndSettleInvoices(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        let secret = WebhookSignature.Secret.generate()
        // A gateway nobody answers at; the charge is a billing.collect job no worker runs here, so the
        // invoice waits for the provider's callback.
        let provider = HTTPPaymentProvider(base: "http://127.0.0.1:9", secret: secret, http: .shared, clock: clock)
        try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0), paymentProvider: provider) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            let created = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"])
            let subscriptionID = try #require(created.object["id"] as? String)
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60))
            #expect(try await server.call(.post, "/v1/billing/runs", token: op).object["finalized"] as? Int == 1)
            let invoiceID = try #require(try await server.call(.get, "/v1/invoices", token: op).items.first?["id"] as? String)
            #expect(try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op).object["status"] as? String == "open")
            let collect = try await server.call(.get, "/v1/jobs?kind=billing.collect", token: op)
            #expect(collect.items.count == 1 && (collect.items.first?["args"] as? [String: Any])?["invoice_id"] as? String == invoiceID, "\(collect)")

            func callback(_ fields: [String: Any], id: String, secret: WebhookSignature.Secret) async throws -> Reply {
                let body = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
                let at = Int64(clock.now().timeIntervalSince1970)
                let signature = WebhookSignature.sign(id: id, timestamp: at, body: Array(body), secret: secret)
                return try await server.call(.post, "/v1/billing/payments/callback", rawBody: String(decoding: body, as: UTF8.self), headers: [
                    .contentType: "application/json", HTTPField.Name("webhook-id")!: id, HTTPField.Name("webhook-timestamp")!: String(at),
                    HTTPField.Name("webhook-signature")!: signature,
                ])
            }
            let forged = try await callback(["invoice_id": invoiceID, "status": "succeeded", "reference": "ch_1"], id: "evt_0", secret: .generate())
            #expect(forged.status == 401 && forged.code == "invalid_signature", "\(forged)")
            #expect(try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op).object["status"] as? String == "open")

            let failed = try await callback(["invoice_id": invoiceID, "status": "failed", "reason": "card declined"], id: "evt_1", secret: secret)
            #expect(failed.status == 200, "\(failed)")
            #expect(try await server.call(.get, "/v1/subscriptions/\(subscriptionID)", token: op).object["state"] as? String == "past_due")
            let settled = try await callback(["invoice_id": invoiceID, "status": "succeeded", "reference": "ch_2"], id: "evt_2", secret: secret)
            #expect(settled.status == 200, "\(settled)")
            let invoice = try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op)
            #expect(invoice.object["status"] as? String == "paid" && invoice.object["payment_reference"] as? String == "ch_2")
            #expect(try await server.call(.get, "/v1/subscriptions/\(subscriptionID)", token: op).object["state"] as? String == "active")
            // A repeated callback changes nothing.
            #expect(try await callback(["invoice_id": invoiceID, "status": "succeeded", "reference": "ch_3"], id: "evt_2", secret: secret).status == 200)
            #expect(try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op).object["payment_reference"] as? String == "ch_2")
            let trail = try await server.call(.get, "/v1/invoices/\(invoiceID)/audit", token: op).items.compactMap { $0["actor"] as? String }
            #expect(trail.suffix(2) == ["provider:http", "provider:http"], "\(trail)")
        }
    }

    @Test(arguments: TestBackend.available)
    func collectJobsChargeThroughTheGatewayAndApplyItsAnswer(backend: TestBackend) async throws {
        let answers = Mutex<[String]>([#"{"status": "failed", "reason": "insufficient funds"}"#, #"{"status": "succeeded", "reference": "ch_42"}"#])
        let keys = Mutex<[String]>([])
        let gateway = Router()
        gateway.post("pay/charges") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 65_536)
            if let fields = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: String], let key = fields["idempotency_key"] {
                keys.withLock { $0.append(key) }
            }
            let text = answers.withLock { $0.isEmpty ? "{}" : $0.removeFirst() }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(router: gateway, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let clock = ManualClock(Self.start)
            let provider = HTTPPaymentProvider(base: "http://127.0.0.1:\(client.port!)/pay", secret: .generate(), http: .shared, clock: clock)
            try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0), paymentProvider: provider) { server in
                let tenant = try await Self.setUp(server)
                let op = server.operatorToken
                _ = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"])
                clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60))
                _ = try await server.call(.post, "/v1/billing/runs", token: op)
                let invoiceID = try #require(try await server.call(.get, "/v1/invoices", token: op).items.first?["id"] as? String)
                let jobs = try #require(server.platform.jobs)
                let handler = BillingCollectJob(invoices: try #require(server.platform.invoices))
                func runCollectJob() async throws {
                    let listed = try await server.call(.get, "/v1/jobs?kind=billing.collect&state=available", token: op)
                    let id = try #require(listed.items.first?["id"] as? String, "\(listed)")
                    try await handler.run(try await jobs.get(try #require(JobID(id)), tenant: nil))
                    _ = try await server.call(.post, "/v1/jobs/\(id)/cancel", token: op)
                }
                // The first charge is declined: the invoice's payment failed, the subscription is past due.
                try await runCollectJob()
                var invoice = try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op)
                #expect(invoice.object["status"] as? String == "open" && invoice.object["payment_failed_at"] as? String != nil, "\(invoice)")
                #expect(try await server.call(.get, "/v1/subscriptions?tenant_id=\(tenant.tenantID)", token: op).items.first?["state"] as? String == "past_due")
                // Dunning counts from the failure, not the due date: its first retry (a day later)
                // charges again under a new key, and it goes through.
                clock.advance(86_400 + 1)
                _ = try await server.call(.post, "/v1/billing/runs", token: op)
                try await runCollectJob()
                invoice = try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op)
                #expect(invoice.object["status"] as? String == "paid" && invoice.object["payment_reference"] as? String == "ch_42", "\(invoice)")
                #expect(keys.withLock { $0 } == ["\(invoiceID)-charge-0", "\(invoiceID)-charge-1"])
                #expect(try await server.call(.get, "/v1/subscriptions?tenant_id=\(tenant.tenantID)", token: op).items.first?["state"] as? String == "active")
            }
        }
    }

    @Test(arguments: TestBackend.available)
    func creditsApplyAfterTaxAndCarryForward(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0)) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            #expect(try await server.call(.put, "/v1/tenants/\(tenant.tenantID)/billing", token: op, json: ["tax_rate": "10"]).status == 200)
            let created = try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"])
            let id = try #require(created.object["id"] as? String)
            #expect(try await server.call(.post, "/v1/subscriptions/\(id)/credits", token: tenant.token, json: ["amount": "40.00", "reason": "x"]).status == 403)
            let bad = try await server.call(.post, "/v1/subscriptions/\(id)/credits", token: op, json: ["amount": "40.001", "reason": "goodwill"])
            #expect(bad.status == 422 && bad.object["field"] as? String == "amount")
            let credit = try await server.call(.post, "/v1/subscriptions/\(id)/credits", token: op, json: ["amount": "40.00", "reason": "goodwill"])
            #expect(credit.status == 201 && credit.object["amount"] as? String == "40.00", "\(credit)")

            // No usage: the minimum 25.00 plus 10 % tax is 27.50; the credit pays it all and 12.50 carries over.
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60))
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            let first = try #require(try await server.call(.get, "/v1/invoices", token: op).items.first)
            #expect(first["subtotal"] as? String == "25.00" && first["tax"] as? String == "2.50" && first["total"] as? String == "0.00", "\(first)")
            #expect(first["status"] as? String == "paid")
            let credits = (first["lines"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "credit" }.compactMap { $0["amount"] as? String }
            #expect(credits == ["-27.50"])
            // 2026-05-10T10:00:00Z: the second period gets what was left.
            clock.set(Date(timeIntervalSince1970: 1_778_407_200 + 60))
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            let second = try #require(try await server.call(.get, "/v1/invoices?limit=1", token: op).items.first)
            #expect(second["id"] as? String != first["id"] as? String)
            let carried = (second["lines"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "credit" }
            #expect(carried.compactMap { $0["amount"] as? String } == ["-12.50"] && carried.first?["description"] as? String == "Credit carried forward", "\(second)")
            #expect(second["total"] as? String == "15.00")
            let trail = try await server.call(.get, "/v1/subscriptions/\(id)/audit", token: op).items.compactMap { $0["action"] as? String }
            #expect(trail.contains("credit_granted"))
        }
    }

    @Test(arguments: TestBackend.available)
    func aSpentScheduleCancelsAndLeavesDunning(backend: TestBackend) async throws {
        let clock = ManualClock(Self.start)
        try await TestServer.run(backend, clock: clock, billing: BillingContext.Configuration(finalizeGraceSeconds: 0, netDays: 10)) { server in
            let tenant = try await Self.setUp(server)
            let op = server.operatorToken
            let id = try #require(try await server.call(.post, "/v1/subscriptions", token: tenant.token, json: ["plan": "metered"]).object["id"] as? String)
            clock.set(Date(timeIntervalSince1970: Self.periodEnd + 60))
            _ = try await server.call(.post, "/v1/billing/runs", token: op)
            let invoiceID = try #require(try await server.call(.get, "/v1/invoices", token: op).items.first?["id"] as? String)
            // A run that was down for the whole schedule catches up at once: all nine steps.
            clock.advance(10 * 86_400 + 31 * 86_400)
            let run = try await server.call(.post, "/v1/billing/runs", token: op)
            #expect(run.object["dunning_steps"] as? Int == 9, "\(run)")
            let invoice = try await server.call(.get, "/v1/invoices/\(invoiceID)", token: op)
            #expect(invoice.object["status"] as? String == "open" && invoice.object["dunning_finished"] as? Bool == true, "\(invoice)")
            #expect(try await server.call(.get, "/v1/subscriptions/\(id)", token: op).object["state"] as? String == "canceled")
            #expect(try await server.call(.post, "/v1/billing/runs", token: op).object["dunning_steps"] as? Int == 0)
        }
    }
}
