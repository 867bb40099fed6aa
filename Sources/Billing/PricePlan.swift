import Core
import Metering

/// A billing plan's prices, one version of them: an interval, a currency, charges that each
/// rate one meter's total (or a flat fee), an optional minimum commitment and trial. Editing a
/// plan makes a new version; subscriptions keep theirs until migrated.
public struct PricePlan: Sendable, Equatable {
    public enum Interval: String, Sendable, Equatable { case month, year }

    /// One charge: what it is called on the invoice, the meter it rates (none for a flat fee),
    /// how, and how many units are free each period.
    public struct Charge: Sendable, Equatable {
        public var key: String
        public var description: String
        public var meter: String?
        public var model: ChargeModel
        public var freeUnits: Quantity

        public init(key: String, description: String, meter: String?, model: ChargeModel, freeUnits: Quantity = .zero) {
            self.key = key
            self.description = description
            self.meter = meter
            self.model = model
            self.freeUnits = freeUnits
        }
    }

    public var key: String
    public var version: Int
    public var name: String
    public var interval: Interval
    public var currency: Currency
    public var charges: [Charge]
    public var minimumCommitment: Money?
    public var trialDays: Int

    public init(key: String, version: Int = 1, name: String, interval: Interval, currency: Currency, charges: [Charge],
                minimumCommitment: Money? = nil, trialDays: Int = 0) {
        self.key = key
        self.version = version
        self.name = name
        self.interval = interval
        self.currency = currency
        self.charges = charges
        self.minimumCommitment = minimumCommitment
        self.trialDays = trialDays
    }

    /// The invoice lines for one period: each charge rated on its meter's exact total (or each
    /// event's value, for percentages) and rounded once.
    public func lines(totals: [String: Quantity], eventValues: [String: [Quantity]] = [:]) -> [InvoiceDraft.Line] {
        charges.map { charge in
            let atto: Int128
            switch charge.model {
            case .flat:
                atto = charge.model.rate(quantity: .zero)
            case .percentage:
                atto = charge.model.rate(values: charge.meter.flatMap { eventValues[$0] } ?? [])
            default:
                atto = charge.model.rate(quantity: charge.meter.flatMap { totals[$0] } ?? .zero, freeUnits: charge.freeUnits)
            }
            let quantity: Quantity? = switch charge.model {
            case .flat: nil
            case .percentage: (charge.meter.flatMap { eventValues[$0] } ?? []).reduce(.zero, +)
            default: charge.meter.flatMap { totals[$0] } ?? .zero
            }
            return InvoiceDraft.Line(kind: .charge, description: charge.description, amount: Money(attoUnits: atto, currency: currency),
                                     charge: charge.key, quantity: quantity)
        }
    }

    /// Reads a plan as `config/plans.json` and `POST /v1/billing/plans` write it; errors name the field.
    public static func parse(_ value: JSONValue, field: String = "") throws -> PricePlan {
        let at = { (name: String) in field.isEmpty ? name : "\(field).\(name)" }
        guard case .object(let fields) = value else { throw TallyError.validation(field, "a plan is a JSON object") }
        func string(_ object: [String: JSONValue], _ key: String, _ path: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw TallyError.validation(path, "\(key) must be a string")
            }
        }
        func amount(_ object: [String: JSONValue], _ key: String, _ path: String) throws -> Quantity? {
            guard let raw = object[key], raw != .null else { return nil }
            guard let quantity = Quantity(json: raw), quantity >= .zero else { throw TallyError.validation(path, "\(key) must be a decimal amount, not negative") }
            return quantity
        }
        guard let key = try string(fields, "key", at("key")), (2...63).contains(key.utf8.count),
              key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F })
        else { throw TallyError.validation(at("key"), "key is 2 to 63 of a-z, 0-9, '-' and '_'") }
        let name = try string(fields, "name", at("name")) ?? key
        guard let intervalText = try string(fields, "interval", at("interval")), let interval = Interval(rawValue: intervalText) else {
            throw TallyError.validation(at("interval"), "interval is month or year")
        }
        guard let code = try string(fields, "currency", at("currency")), let currency = Currency(code) else {
            throw TallyError.validation(at("currency"), "currency is an ISO 4217 code such as USD")
        }
        guard case .array(let items)? = fields["charges"] else { throw TallyError.validation(at("charges"), "charges is an array") }
        var keys = Set<String>()
        let charges = try items.enumerated().map { index, item -> Charge in
            let path = at("charges[\(index)]")
            guard case .object(let c) = item else { throw TallyError.validation(path, "a charge is an object") }
            guard let type = try string(c, "type", "\(path).type") else { throw TallyError.validation("\(path).type", "type is required") }
            let chargeKey = try string(c, "key", "\(path).key") ?? "\(type)-\(index)"
            guard keys.insert(chargeKey).inserted else { throw TallyError.validation("\(path).key", "charge keys are unique within a plan") }
            let meter = try string(c, "meter", "\(path).meter")
            let model: ChargeModel
            func required(_ key: String) throws -> Quantity {
                guard let value = try amount(c, key, "\(path).\(key)") else { throw TallyError.validation("\(path).\(key)", "\(key) is required") }
                return value
            }
            func tiers() throws -> [ChargeModel.Tier] {
                guard case .array(let list)? = c["tiers"] else { throw TallyError.validation("\(path).tiers", "tiers is an array") }
                return try list.enumerated().map { tierIndex, tier in
                    guard case .object(let t) = tier else { throw TallyError.validation("\(path).tiers[\(tierIndex)]", "a tier is an object") }
                    let tierPath = "\(path).tiers[\(tierIndex)]"
                    guard let price = try amount(t, "unit_price", "\(tierPath).unit_price") else {
                        throw TallyError.validation("\(tierPath).unit_price", "unit_price is required")
                    }
                    return ChargeModel.Tier(upTo: try amount(t, "up_to", "\(tierPath).up_to"), unitPrice: price,
                                            flatFee: try amount(t, "flat_fee", "\(tierPath).flat_fee") ?? .zero)
                }
            }
            switch type {
            case "flat": model = .flat(try required("amount"))
            case "per_unit": model = .perUnit(try required("unit_price"))
            case "graduated": model = .graduated(try tiers())
            case "volume": model = .volume(try tiers())
            case "package": model = .package(size: try required("package_size"), price: try required("price"))
            case "percentage":
                model = .percentage(percent: try required("percent"), minimum: try amount(c, "minimum", "\(path).minimum"),
                                    maximum: try amount(c, "maximum", "\(path).maximum"))
            default: throw TallyError.validation("\(path).type", "type is flat, per_unit, graduated, volume, package or percentage")
            }
            try model.validate(field: path)
            if type != "flat" && meter == nil { throw TallyError.validation("\(path).meter", "a \(type) charge names the meter it rates") }
            return Charge(key: chargeKey, description: try string(c, "description", "\(path).description") ?? chargeKey, meter: type == "flat" ? nil : meter,
                          model: model, freeUnits: try amount(c, "free_units", "\(path).free_units") ?? .zero)
        }
        var minimum: Money?
        if let text = try string(fields, "minimum_commitment", at("minimum_commitment")) {
            guard let money = Money(decimal: text, currency: currency), money.minorUnits >= 0 else {
                throw TallyError.validation(at("minimum_commitment"), "minimum_commitment is a decimal amount in the plan's currency")
            }
            minimum = money
        }
        var trialDays = 0
        if let raw = fields["trial_days"], raw != .null {
            guard case .number(let days) = raw, days == days.rounded(), (0...365).contains(days) else {
                throw TallyError.validation(at("trial_days"), "trial_days is 0 to 365")
            }
            trialDays = Int(days)
        }
        var version = 1
        if case .number(let stored)? = fields["version"], stored == stored.rounded(), stored >= 1, stored < 1e9 { version = Int(stored) }
        return PricePlan(key: key, version: version, name: name, interval: interval, currency: currency, charges: charges,
                         minimumCommitment: minimum, trialDays: trialDays)
    }

    /// Reads `{"plans": [plan, …]}` (the brief's `config/plans.json`); errors name the entry.
    public static func parseList(_ value: JSONValue) throws -> [PricePlan] {
        guard case .object(let fields) = value, case .array(let items)? = fields["plans"] else {
            throw TallyError.validation("plans", "plans.json holds {\"plans\": [ … ]}")
        }
        var keys = Set<String>()
        return try items.enumerated().map { index, item in
            let plan = try parse(item, field: "plans[\(index)]")
            guard keys.insert(plan.key).inserted else { throw TallyError.validation("plans[\(index)].key", "plan keys are unique") }
            return plan
        }
    }

    /// The plan as `parse` reads it (amounts as decimal strings), with its version.
    public var json: JSONValue {
        var plan: [String: JSONValue] = [
            "key": .string(key), "version": .number(Double(version)), "name": .string(name), "interval": .string(interval.rawValue),
            "currency": .string(currency.code), "trial_days": .number(Double(trialDays)),
            "minimum_commitment": minimumCommitment.map { .string($0.decimalString) } ?? .null,
        ]
        plan["charges"] = .array(charges.map { charge in
            var c: [String: JSONValue] = ["key": .string(charge.key), "description": .string(charge.description)]
            if let meter = charge.meter { c["meter"] = .string(meter) }
            if charge.freeUnits != .zero { c["free_units"] = .string(charge.freeUnits.description) }
            func tiers(_ list: [ChargeModel.Tier]) -> JSONValue {
                .array(list.map { tier in
                    var t: [String: JSONValue] = ["up_to": tier.upTo.map { .string($0.description) } ?? .null, "unit_price": .string(tier.unitPrice.description)]
                    if tier.flatFee != .zero { t["flat_fee"] = .string(tier.flatFee.description) }
                    return .object(t)
                })
            }
            switch charge.model {
            case .flat(let amount): c["type"] = "flat"; c["amount"] = .string(amount.description)
            case .perUnit(let price): c["type"] = "per_unit"; c["unit_price"] = .string(price.description)
            case .graduated(let list): c["type"] = "graduated"; c["tiers"] = tiers(list)
            case .volume(let list): c["type"] = "volume"; c["tiers"] = tiers(list)
            case .package(let size, let price): c["type"] = "package"; c["package_size"] = .string(size.description); c["price"] = .string(price.description)
            case .percentage(let percent, let minimum, let maximum):
                c["type"] = "percentage"; c["percent"] = .string(percent.description)
                if let minimum { c["minimum"] = .string(minimum.description) }
                if let maximum { c["maximum"] = .string(maximum.description) }
            }
            return .object(c)
        })
        return .object(plan)
    }

    /// The flat fee for a whole period, in minor units (the sum of the plan's flat charges).
    public var flatFee: Money {
        Money(attoUnits: charges.reduce(Int128(0)) { sum, charge in
            if case .flat = charge.model { return sum + charge.model.rate(quantity: .zero) }
            return sum
        }, currency: currency)
    }
}
