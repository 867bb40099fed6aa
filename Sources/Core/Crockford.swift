/// Crockford base32, the alphabet of ULIDs: no I, L, O or U, so ids read aloud without doubt.
enum Crockford {
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// The value of one upper-case alphabet character, or `nil`.
    static func value(of byte: UInt8) -> UInt8? {
        guard let index = alphabet.firstIndex(of: byte) else { return nil }
        return UInt8(index)
    }

    /// 26 characters: 48 bits of time then 80 random bits, 5 bits per character (130 bits, top 2 zero).
    static func encode(millis: UInt64, randomHigh: UInt16, randomLow: UInt64) -> String {
        // The 128-bit value: time in the top 48 bits, then 16 + 64 random bits.
        var value = UInt128(truncatingIfNeeded: (millis & 0xFFFF_FFFF_FFFF) << 16 | UInt64(randomHigh)) << 64 | UInt128(randomLow)
        return String(unsafeUninitializedCapacity: 26) { buffer in
            for index in stride(from: 25, through: 0, by: -1) {  // least significant character last
                buffer[index] = alphabet[Int(truncatingIfNeeded: value & 0x1F)]
                value >>= 5
            }
            return 26
        }
    }
}
