extension Sequence where Element == UInt8 {
    /// The bytes as lowercase hexadecimal, two characters per byte.
    public var hexString: String {
        var out = ""
        for byte in self {
            if byte < 16 { out += "0" }
            out += String(byte, radix: 16)
        }
        return out
    }
}
