import Core

/// An exact usage amount: a signed decimal with at most 9 fractional digits, held as an
/// `Int128` count of billionths. Meter totals add these exactly; no floating point touches them.
///
/// JSON numbers arrive as `Double`, which holds at most 15–17 significant digits; `init(exactly:)`
/// accepts a double only when its shortest decimal form has at most 15 significant digits and 9
/// fractional digits, so the decimal the client wrote is the decimal Tally stores. Larger or
/// finer values can be sent as strings (`"12345678901234567.5"`), parsed exactly. Any one value
/// must be below 10^18 in magnitude.
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// Fractional digits kept.
    public static let scale = 9
    static let unit: Int128 = 1_000_000_000
    /// Input magnitudes must stay below 10^18 (10^27 billionths): ample for any one usage amount,
    /// and it leaves room in Int128 for the sum of 10^11 such amounts.
    static let maxBillionths: Int128 = (0..<27).reduce(Int128(1)) { value, _ in value * 10 }

    /// The value in billionths, kept as two 64-bit halves rather than one `Int128`: a stored
    /// `Int128` makes the type 16-byte aligned, and Swift 6.3 on Linux miscompiles some async
    /// calls whose arguments are 16-byte aligned (the async frame is corrupted and the process
    /// crashes later). Arithmetic still happens in `Int128`.
    private let high: Int64
    private let low: UInt64

    /// The value in billionths.
    @inline(__always) public var billionths: Int128 { Int128(high) << 64 | Int128(low) }

    public init(billionths: Int128) {
        self.high = Int64(truncatingIfNeeded: billionths >> 64)
        self.low = UInt64(truncatingIfNeeded: billionths)
    }

    public static let zero = Quantity(billionths: 0)
    public static let one = Quantity(billionths: unit)

    /// A whole number.
    public init(_ integer: Int) { self.init(billionths: Int128(integer) * Self.unit) }

    /// Parses decimal text: optional sign, digits, optional fraction (up to 9 digits), optional
    /// exponent; `nil` for anything else or a magnitude of 10^18 or more (the input bound).
    public init?(_ text: some StringProtocol) {
        guard let value = Self.parse(text, limit: Self.maxBillionths) else { return nil }
        self.init(billionths: value)
    }

    /// Parses a stored total: the same syntax, bounded only by Int128 (sums may pass 10^18).
    public init?(stored text: some StringProtocol) {
        guard let value = Self.parse(text, limit: .max) else { return nil }
        self.init(billionths: value)
    }

    private static func parse(_ text: some StringProtocol, limit: Int128) -> Int128? {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var exponent = 0
        if let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let parsed = Int(String(decoding: bytes[(e + 1)...], as: UTF8.self)), abs(parsed) <= 60 else { return nil }
            exponent = parsed
            bytes = bytes[..<e]
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var seenPoint = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return nil }
                seenPoint = true
            } else if byte >= 48 && byte <= 57 {
                digits.append(byte - 48)
                if seenPoint { fractionDigits += 1 }
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        // value = digits * 10^(exponent - fractionDigits); we need it * 10^9 as an integer.
        let shift = Self.scale + exponent - fractionDigits
        var value: Int128 = 0
        for digit in digits {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int128(digit))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        if shift >= 0 {
            for _ in 0..<shift {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = times
            }
        } else {
            for _ in 0..<(-shift) {
                guard value % 10 == 0 else { return nil }  // finer than a billionth: not exact
                value /= 10
            }
        }
        guard value < limit else { return nil }
        return negative ? -value : value
    }

    /// A JSON number, accepted only when it is exactly the decimal its shortest form shows and
    /// has at most 15 significant digits.
    public init?(exactly double: Double) {
        guard double.isFinite else { return nil }
        // Whole numbers of up to 15 digits (most amounts) without going through text.
        if double.rounded(.towardZero) == double, double.magnitude < 1e15 {
            self.init(billionths: Int128(Int64(double)) * Self.unit)
            return
        }
        let text = "\(double)"
        let significant = text.utf8.drop(while: { $0 == UInt8(ascii: "-") })
            .prefix(while: { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") })
            .filter { $0 != UInt8(ascii: ".") }
            .drop(while: { $0 == UInt8(ascii: "0") })
        let trimmed = significant.reversed().drop(while: { $0 == UInt8(ascii: "0") })
        guard trimmed.count <= 15, let parsed = Quantity(text) else { return nil }
        self = parsed
    }

    /// A JSON number (exact, as `init(exactly:)` takes it) or a decimal string; `nil` for
    /// anything else. How every amount in a request body is read.
    public init?(json value: JSONValue) {
        switch value {
        case .number(let number): self.init(exactly: number)
        case .string(let text): self.init(text)
        default: return nil
        }
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.billionths < rhs.billionths }

    /// Exact sum, or `nil` past Int128 (1.7 * 10^29): sums on the ingest path use this and never trap.
    public func adding(_ other: Quantity) -> Quantity? {
        let (sum, overflow) = billionths.addingReportingOverflow(other.billionths)
        return overflow ? nil : Quantity(billionths: sum)
    }

    /// Exact difference, or `nil` past Int128.
    public func subtracting(_ other: Quantity) -> Quantity? {
        let (difference, overflow) = billionths.subtractingReportingOverflow(other.billionths)
        return overflow ? nil : Quantity(billionths: difference)
    }

    /// `percent` % of this quantity, rounded toward positive infinity at the billionth (so a
    /// threshold counts as reached only once usage really gets there); `nil` past Int128.
    public func multiplied(byPercent percent: Int) -> Quantity? {
        let (product, overflow) = billionths.multipliedReportingOverflow(by: Int128(percent))
        guard !overflow else { return nil }
        let quotient = product / 100, remainder = product % 100
        return Quantity(billionths: remainder > 0 ? quotient + 1 : quotient)
    }

    /// Exact sum; traps on Int128 overflow, which needs more than 10^11 maximal inputs.
    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(billionths: lhs.billionths + rhs.billionths) }
    public static func - (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(billionths: lhs.billionths - rhs.billionths) }
    public static prefix func - (value: Quantity) -> Quantity { Quantity(billionths: -value.billionths) }
    public static func += (lhs: inout Quantity, rhs: Quantity) { lhs = lhs + rhs }

    /// The shortest exact decimal text: `12`, `-0.5`, `3.000000001`. (Written byte by byte:
    /// responses format several quantities each.)
    public var description: String {
        let value = billionths
        let negative = value < 0
        let magnitude = negative ? UInt128(truncatingIfNeeded: 0 &- value) : UInt128(value)
        // 64-bit arithmetic when it fits (below 1.8 * 10^10 units): Int128 division is a call.
        if let small = UInt64(exactly: magnitude) { return Self.text(magnitude: small, negative: negative) }
        return Self.text(magnitude: magnitude, negative: negative)
    }

    private static func text<Magnitude: FixedWidthInteger & UnsignedInteger>(magnitude whole: Magnitude, negative: Bool) -> String {
        // On the stack, filled from the end: the String is the only allocation (none for up to
        // 15 bytes, a small string).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { digits in
            text(magnitude: whole, negative: negative, into: digits)
        }
    }

    private static func text<Magnitude: FixedWidthInteger & UnsignedInteger>(
        magnitude whole: Magnitude, negative: Bool, into digits: UnsafeMutableBufferPointer<UInt8>
    ) -> String {
        var magnitude = whole
        var position = digits.count
        var fraction = magnitude % 1_000_000_000
        magnitude /= 1_000_000_000
        if fraction != 0 {
            var width = 9
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            for _ in 0..<width {
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            position -= 1
            digits[position] = UInt8(ascii: ".")
        }
        repeat {
            position -= 1
            digits[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if negative {
            position -= 1
            digits[position] = UInt8(ascii: "-")
        }
        return String(decoding: UnsafeBufferPointer(rebasing: digits[position...]), as: UTF8.self)
    }

    /// Encoded as its exact decimal text (a JSON string), so no client parses it as a double.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = Quantity(text) {
            self = value
        } else if let number = try? container.decode(Double.self), let value = Quantity(exactly: number) {
            self = value
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an exact decimal with at most 9 fractional digits"))
        }
    }
}
