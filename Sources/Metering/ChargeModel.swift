import Core

/// How a plan's charge turns a meter's total into money. Prices are exact decimals in the
/// currency's major units (`Quantity`, e.g. `0.0004` per API call); `rate` answers the exact
/// amount in 10^-18 major units, which `Money(attoUnits:currency:)` rounds once per line.
///
/// Exact while quantities stay under 10^12 units and prices under 10^6 major units (the product
/// fits an Int128).
public enum ChargeModel: Sendable, Equatable {
    /// A fixed fee per period, whatever the usage.
    case flat(Quantity)
    /// Every unit at one price.
    case perUnit(Quantity)
    /// Tiers price the units that fall in them (the first 1,000 at one price, the next at another).
    case graduated([Tier])
    /// The tier the whole quantity falls in prices every unit.
    case volume([Tier])
    /// Per started package: `ceil(quantity / size) × price`.
    case package(size: Quantity, price: Quantity)
    /// A percentage of each event's value, clamped per event to `[minimum, maximum]`.
    case percentage(percent: Quantity, minimum: Quantity?, maximum: Quantity?)

    /// One tier: units up to `upTo` (inclusive; `nil` for the last, unbounded tier) at
    /// `unitPrice`, plus `flatFee` once when any unit falls in it (graduated) or when the total
    /// lands in it (volume).
    public struct Tier: Sendable, Equatable {
        public var upTo: Quantity?
        public var unitPrice: Quantity
        public var flatFee: Quantity

        public init(upTo: Quantity?, unitPrice: Quantity, flatFee: Quantity = .zero) {
            self.upTo = upTo
            self.unitPrice = unitPrice
            self.flatFee = flatFee
        }
    }

    static let billion: Int128 = 1_000_000_000

    /// The exact charge, in 10^-18 major units, for `quantity` units of which the first
    /// `freeUnits` cost nothing. (For `.percentage` use `rate(values:)`.)
    public func rate(quantity: Quantity, freeUnits: Quantity = .zero) -> Int128 {
        let billable = max(.zero, quantity - freeUnits)
        switch self {
        case .flat(let fee):
            return fee.billionths * Self.billion
        case .perUnit(let price):
            return billable.billionths * price.billionths
        case .graduated(let tiers):
            var total: Int128 = 0
            var lower = Quantity.zero
            for tier in tiers {
                guard billable > lower else { break }
                let upper = tier.upTo.map { min($0, billable) } ?? billable
                if upper > lower {
                    total += (upper - lower).billionths * tier.unitPrice.billionths + tier.flatFee.billionths * Self.billion
                }
                guard let bound = tier.upTo else { break }
                lower = bound
            }
            return total
        case .volume(let tiers):
            guard billable > .zero else { return 0 }
            let tier = tiers.first { $0.upTo.map { billable <= $0 } ?? true } ?? tiers.last
            guard let tier else { return 0 }
            return billable.billionths * tier.unitPrice.billionths + tier.flatFee.billionths * Self.billion
        case .package(let size, let price):
            guard size > .zero, billable > .zero else { return 0 }
            let packages = (billable.billionths + size.billionths - 1) / size.billionths
            return packages * price.billionths * Self.billion
        case .percentage:
            return 0
        }
    }

    /// The exact charge for `.percentage` over each event's value (other models rate the sum).
    public func rate(values: [Quantity]) -> Int128 {
        guard case .percentage(let percent, let minimum, let maximum) = self else {
            return rate(quantity: values.reduce(.zero, +))
        }
        var total: Int128 = 0
        for value in values {
            var fee = value.billionths * percent.billionths / 100
            if let minimum { fee = max(fee, minimum.billionths * Self.billion) }
            if let maximum { fee = min(fee, maximum.billionths * Self.billion) }
            total += fee
        }
        return total
    }

    /// Checks tiers ascend and prices are not negative; throws `validation_failed` on `field`.
    public func validate(field: String) throws {
        func price(_ value: Quantity, _ name: String) throws {
            guard value >= .zero else { throw TallyError.validation("\(field).\(name)", "\(name) must not be negative") }
        }
        switch self {
        case .flat(let fee): try price(fee, "amount")
        case .perUnit(let unit): try price(unit, "unit_price")
        case .package(let size, let cost):
            guard size > .zero else { throw TallyError.validation("\(field).package_size", "package_size must be positive") }
            try price(cost, "price")
        case .percentage(let percent, let minimum, let maximum):
            guard percent >= .zero, percent <= Quantity(100) else { throw TallyError.validation("\(field).percent", "percent must be 0 to 100") }
            if let minimum { try price(minimum, "minimum") }
            if let maximum { try price(maximum, "maximum") }
            if let minimum, let maximum, minimum > maximum {
                throw TallyError.validation("\(field).maximum", "maximum must not be below minimum")
            }
        case .graduated(let tiers), .volume(let tiers):
            guard !tiers.isEmpty else { throw TallyError.validation("\(field).tiers", "at least one tier") }
            var previous = Quantity.zero
            for (index, tier) in tiers.enumerated() {
                try price(tier.unitPrice, "tiers[\(index)].unit_price")
                try price(tier.flatFee, "tiers[\(index)].flat_fee")
                if let bound = tier.upTo {
                    guard bound > previous else { throw TallyError.validation("\(field).tiers[\(index)].up_to", "tiers must ascend") }
                    previous = bound
                } else if index != tiers.count - 1 {
                    throw TallyError.validation("\(field).tiers[\(index)].up_to", "only the last tier may be unbounded")
                }
            }
            guard tiers.last?.upTo == nil else { throw TallyError.validation("\(field).tiers", "the last tier must be unbounded (no up_to)") }
        }
    }
}
