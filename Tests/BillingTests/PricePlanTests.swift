import Billing
import Core
import Foundation
import Metering
import Testing

@Suite struct PricePlanTests {
    func q(_ text: String) -> Quantity { Quantity(text)! }

    static func shippedPlans() throws -> [PricePlan] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/plans.json")
        guard case .object(let root) = try JSONParser.parse(Array(try Data(contentsOf: url))), case .array(let plans)? = root["plans"] else {
            throw TallyError.validation("plans", "config/plans.json has no plans array")
        }
        return try plans.enumerated().map { try PricePlan.parse($1, field: "plans[\($0)]") }
    }

    @Test func theShippedPlansParseAndRate() throws {
        let plans = try Self.shippedPlans()
        #expect(plans.map(\.key) == ["starter", "growth", "payments"])
        let starter = plans[0]
        #expect(starter.trialDays == 14 && starter.interval == .month && starter.currency.code == "USD")
        // 29.00 flat; 25,000 calls with 10,000 free at 0.0004 = 6.00.
        #expect(starter.lines(totals: ["api-calls": q("25000")]).map(\.amount.minorUnits) == [2_900, 600])
        let growth = plans[1]
        // 150,000 calls: 100,000 × 0.0004 + 50,000 × 0.0002 = 50.00; 250 GB = 3 packages = 15.00.
        let lines = growth.lines(totals: ["api-calls": q("150000"), "storage-gb": q("250")])
        #expect(lines.map(\.amount.minorUnits) == [19_900, 5_000, 1_500])
        let invoice = try InvoiceDraft(currency: growth.currency, lines: lines, minimumCommitment: growth.minimumCommitment, taxBasisPoints: 2_000)
        #expect(invoice.subtotal.minorUnits == 50_000 && invoice.tax.minorUnits == 10_000 && invoice.total.minorUnits == 60_000)
        let payments = plans[2]
        #expect(payments.lines(totals: [:], eventValues: ["payment-volume": [q("100"), q("5"), q("2000")]]).map(\.amount.minorUnits) == [290 + 30 + 2_500])
        // No usage: the flat fees only.
        #expect(starter.lines(totals: [:]).map(\.amount.minorUnits) == [2_900, 0])
    }

    @Test func badPlansNameTheirField() throws {
        func field(_ json: String) -> String? {
            do { _ = try PricePlan.parse(try JSONParser.parse(Array(json.utf8))); return nil } catch let error as TallyError { return error.field } catch { return "?" }
        }
        let ok = #"{"key": "p1", "interval": "month", "currency": "USD", "charges": []}"#
        #expect(field(ok) == nil)
        #expect(field(#"{"key": "P 1", "interval": "month", "currency": "USD", "charges": []}"#) == "key")
        #expect(field(#"{"key": "p1", "interval": "week", "currency": "USD", "charges": []}"#) == "interval")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "XXX", "charges": []}"#) == "currency")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD"}"#) == "charges")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"type": "bogus"}]}"#) == "charges[0].type")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"type": "per_unit", "unit_price": "1"}]}"#) == "charges[0].meter")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"type": "per_unit", "meter": "m"}]}"#) == "charges[0].unit_price")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"type": "flat", "amount": "-1"}]}"#) == "charges[0].amount")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"type": "graduated", "meter": "m", "tiers": [{"up_to": "10", "unit_price": "1"}]}]}"#)
                == "charges[0].tiers")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "charges": [{"key": "a", "type": "flat", "amount": "1"}, {"key": "a", "type": "flat", "amount": "2"}]}"#)
                == "charges[1].key")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "JPY", "minimum_commitment": "10.5", "charges": []}"#) == "minimum_commitment")
        #expect(field(#"{"key": "p1", "interval": "month", "currency": "USD", "trial_days": 400, "charges": []}"#) == "trial_days")
    }
}
