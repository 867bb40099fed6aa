/// The three counts at the head of an ingest reply (`{"accepted":N,"duplicates":N,"rejected":N,
/// "results":[…]}`), read without parsing the per-event results, so the load generator spends
/// its CPU sending rather than decoding.
public struct IngestReplyCounts: Sendable, Equatable {
    public var accepted: Int
    public var duplicates: Int
    public var rejected: Int

    public init(accepted: Int, duplicates: Int, rejected: Int) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
    }

    /// The counts, or `nil` if any of the three is missing.
    public static func parse(_ body: some Collection<UInt8>) -> IngestReplyCounts? {
        let head = Array(body.prefix(256))
        guard let accepted = number(after: #""accepted":"#, in: head),
              let duplicates = number(after: #""duplicates":"#, in: head),
              let rejected = number(after: #""rejected":"#, in: head) else { return nil }
        return IngestReplyCounts(accepted: accepted, duplicates: duplicates, rejected: rejected)
    }

    static func number(after key: String, in bytes: [UInt8]) -> Int? {
        let needle = Array(key.utf8)
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
            var index = start + needle.count
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            var value = 0
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        return nil
    }
}
