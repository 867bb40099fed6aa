/// The names queues, job kinds and periodic jobs share: a-z, 0-9, '.', '_' and '-'.
public enum LowercaseName {
    /// Whether `text` is 1 to `maxBytes` bytes of those characters.
    public static func isValid(_ text: some StringProtocol, maxBytes: Int) -> Bool {
        (1...maxBytes).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }
}
