/// Crockford base32, the alphabet of ULIDs: no I, L, O or U, so ids read aloud without doubt.
enum Crockford {
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Each byte's value, 0xFF for bytes outside the alphabet (ids are parsed on every request
    /// that names one, so this is a table, not a search).
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// The value of one upper-case alphabet character, or `nil`.
    static func value(of byte: UInt8) -> UInt8? {
        let value = values[Int(byte)]
        return value == 0xFF ? nil : value
    }

    /// 26 characters: 48 bits of time then 80 random bits, 5 bits per character (130 bits, top 2 zero).
    static func encode(millis: UInt64, randomHigh: UInt16, randomLow: UInt64) -> String {
        encode(prefix: "", millis: millis, randomHigh: randomHigh, randomLow: randomLow)
    }

    /// `prefix` then the 26 characters, written into one string.
    static func encode(prefix: String, millis: UInt64, randomHigh: UInt16, randomLow: UInt64) -> String {
        // The 128-bit value: time in the top 48 bits, then 16 + 64 random bits.
        var value = UInt128(truncatingIfNeeded: (millis & 0xFFFF_FFFF_FFFF) << 16 | UInt64(randomHigh)) << 64 | UInt128(randomLow)
        let start = prefix.utf8.count
        return String(unsafeUninitializedCapacity: start + 26) { buffer in
            _ = buffer.initialize(fromContentsOf: prefix.utf8)
            for index in stride(from: start + 25, through: start, by: -1) {  // least significant character last
                buffer[index] = alphabet[Int(truncatingIfNeeded: value & 0x1F)]
                value >>= 5
            }
            return start + 26
        }
    }
}
