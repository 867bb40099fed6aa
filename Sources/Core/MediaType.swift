/// Media types as HTTP headers and CloudEvents carry them.
public enum MediaType {
    /// The `type/subtype` of a media type, lower-cased, without parameters:
    /// `Application/JSON; charset=utf-8` is `application/json`.
    public static func essence(of value: String) -> String {
        (value.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? "").trimmingWhitespace().lowercased()
    }
}
