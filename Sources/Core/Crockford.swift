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
        // 128-bit value as (hi, lo): time in the top 48 bits, then 16 + 64 random bits.
        let hi: UInt64 = (millis & 0xFFFF_FFFF_FFFF) << 16 | UInt64(randomHigh)
        let lo: UInt64 = randomLow
        var out = [UInt8](repeating: 0, count: 26)
        for index in 0..<26 {
            let shift = 125 - index * 5  // bit offset of this character's lowest bit, from the top of 130 bits
            out[index] = alphabet[Int(bits(hi: hi, lo: lo, from: shift))]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Five bits of the 128-bit value (hi:lo) starting at bit `shift` (0 = least significant).
    private static func bits(hi: UInt64, lo: UInt64, from shift: Int) -> UInt64 {
        var value: UInt64 = 0
        for offset in (0..<5).reversed() {
            let bit = shift + offset
            let set: Bool
            if bit >= 128 {
                set = false
            } else if bit >= 64 {
                set = (hi >> UInt64(bit - 64)) & 1 == 1
            } else {
                set = (lo >> UInt64(bit)) & 1 == 1
            }
            value = value << 1 | (set ? 1 : 0)
        }
        return value
    }
}
