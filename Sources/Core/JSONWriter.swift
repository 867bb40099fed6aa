/// Writes `JSONValue`s (and JSON by hand) as UTF-8 bytes: the counterpart of `JSONParser`,
/// without `JSONEncoder`'s generic `Codable` machinery on the hot path.
///
/// Strings escape `"`, `\` and control characters (by name where JSON has one, else `\u00XX`);
/// everything else is written as UTF-8. Whole numbers up to 2^53 are written without a fraction
/// (`1`, not `1.0`); other numbers in Swift's shortest round-trip form, so parsing them again
/// gives the same `Double`.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// `value` as JSON text; object keys sorted when `sortedKeys`, so equal values are equal text.
    public static func encode(_ value: JSONValue, sortedKeys: Bool = true) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(value, sortedKeys: sortedKeys)
        return writer.bytes
    }

    public mutating func write(_ value: JSONValue, sortedKeys: Bool = true) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .number(let number): write(number)
        case .string(let text): write(text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item, sortedKeys: sortedKeys)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            if sortedKeys {
                for (position, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                    if position > 0 { bytes.append(UInt8(ascii: ",")) }
                    key(member.key)
                    write(member.value, sortedKeys: true)
                }
            } else {
                for (position, member) in members.enumerated() {
                    if position > 0 { bytes.append(UInt8(ascii: ",")) }
                    key(member.key)
                    write(member.value, sortedKeys: false)
                }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// A number: whole values up to 2^53 without a fraction, others in shortest round-trip form.
    public mutating func write(_ number: Double) {
        if number.rounded(.towardZero) == number, abs(number) <= 9_007_199_254_740_992 {
            write(Int(number))
        } else if number.isFinite {
            raw(number.description)
        } else {
            raw("null")  // JSON has no infinities; parsed JSON never holds one
        }
    }

    /// An integer, digit by digit (no intermediate `String`).
    public mutating func write(_ number: Int) {
        bytes.appendDecimal(number)
    }

    /// A quoted, escaped string (scanned once through its contiguous UTF-8; most strings need
    /// no escaping and are copied whole).
    public mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            if utf8.contains(where: JSONString.needsEscaping) {
                for byte in utf8 { appendEscaped(byte) }
            } else {
                bytes.append(contentsOf: utf8)
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(byte)
        case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(byte)
        case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(0x5C); bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(0x5C); bytes.append(UInt8(ascii: "f"))
        case 0..<0x20:
            func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
            bytes += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex(byte >> 4), hex(byte & 0xF)]
        default: bytes.append(byte)
        }
    }

    /// Text written as is (punctuation, literals, pre-rendered JSON).
    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// `"key":` (keys are written escaped like any string).
    public mutating func key(_ name: String) {
        write(name)
        bytes.append(UInt8(ascii: ":"))
    }
}
