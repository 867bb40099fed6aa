/// Media types as HTTP headers and CloudEvents carry them.
public enum MediaType {
    /// The `type/subtype` of a media type, lower-cased, without parameters:
    /// `Application/JSON; charset=utf-8` is `application/json`.
    public static func essence(of value: String) -> String {
        // Every ingest request reads its Content-Type: a lower-case ASCII value without
        // parameters or spaces (the usual case) comes back as it is.
        if value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
            return value
        }
        return (value.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? "").trimmingWhitespace().lowercased()
    }
}
