/// JSON string literals (RFC 8259), written by hand where a whole encoder is too much: log lines
/// and canonical group keys.
public enum JSONString {
    /// Appends `text` as a quoted JSON string: `"` and `\` escaped, `\n` `\r` `\t` by name,
    /// other control characters as `\u00XX`.
    public static func append(_ text: String, to out: inout String) {
        out += "\""
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
}
