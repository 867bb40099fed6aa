/// JSON string literals (RFC 8259) appended to a `String`: the canonical group keys' text.
/// (Byte output goes through `JSONWriter`; the two escape alike except `\b` and `\f`, which
/// this writes as `\u0008` and `\u000c` so existing keys keep their text.)
public enum JSONString {
    /// Appends `text` as a quoted JSON string: `"` and `\` escaped, `\n` `\r` `\t` by name,
    /// other control characters as `\u00XX`.
    public static func append(_ text: String, to out: inout String) {
        out += "\""
        if !text.utf8.contains(where: needsEscaping) {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Whether a UTF-8 byte must be escaped inside a JSON string: `"`, `\` and control characters.
    static func needsEscaping(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}
