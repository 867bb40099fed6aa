/// An IP address as outbound calls (webhook deliveries) see it, and whether calling it is
/// allowed: targets on private, loopback, link-local and other special-purpose ranges are
/// refused unless explicitly allowed, so a tenant cannot point Tally at the inside of its own
/// network (SSRF). Pure: resolving a host name to addresses happens elsewhere.
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    /// What range an address is in.
    public enum Scope: String, Sendable, Equatable {
        case global
        case loopback
        /// RFC 1918 / RFC 4193 private networks and carrier-grade NAT.
        case privateNetwork = "private"
        case linkLocal = "link_local"
        /// Unspecified, multicast, broadcast, documentation, benchmarking and reserved ranges.
        case special
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted IPv4 (`10.0.0.1`) or IPv6 (`::1`, `fe80::1`, `::ffff:10.0.0.1`).
    public init?(_ text: String) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    /// The address's range; IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
    public var scope: Scope {
        if bytes.count == 4 { return Self.scope(ipv4: bytes) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Self.scope(ipv4: Array(bytes[12..<16])) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return bytes[15] == 1 ? .loopback : .special }  // ::1, ::
        if bytes[0] & 0xFE == 0xFC { return .privateNetwork }  // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
        if bytes[0] == 0xFF { return .special }  // multicast
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return .special }  // documentation
        return .global
    }

    /// Whether an outbound call may go to this address: global ones always; loopback and
    /// private ones only when the operator allowed them.
    public func isAllowed(loopback allowLoopback: Bool, privateNetworks allowPrivate: Bool) -> Bool {
        switch scope {
        case .global: true
        case .loopback: allowLoopback
        case .privateNetwork: allowPrivate
        case .linkLocal, .special: false
        }
    }

    static func scope(ipv4 b: [UInt8]) -> Scope {
        switch (b[0], b[1]) {
        case (127, _): return .loopback
        case (10, _), (172, 16...31), (192, 168): return .privateNetwork
        case (100, 64...127): return .privateNetwork  // carrier-grade NAT
        case (169, 254): return .linkLocal  // includes cloud metadata endpoints
        case (0, _), (224...255, _): return .special
        case (192, 0) where b[2] == 0 || b[2] == 2: return .special
        case (198, 18...19): return .special
        case (198, 51) where b[2] == 100: return .special
        case (203, 0) where b[2] == 113: return .special
        default: return .global
        }
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), let value = UInt8(part),
                  part.count == 1 || part.first != "0"
            else { return nil }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        var head = Substring(text)
        var tail: [UInt8] = []
        // A trailing dotted IPv4 part (::ffff:10.0.0.1).
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4
            head = text[...lastColon]
            if head.hasSuffix(":") && !head.hasSuffix("::") { head = head.dropLast() }
        }
        func groups(_ part: Substring) -> [UInt8]? {
            guard !part.isEmpty else { return [] }
            var out: [UInt8] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return out
        }
        let halves = head.components(separatedBy: "::")
        let bytes: [UInt8]
        if halves.count == 2 {
            guard let left = groups(Substring(halves[0])), let right = groups(Substring(halves[1])) else { return nil }
            let missing = 16 - left.count - right.count - tail.count
            guard missing >= 2 else { return nil }
            bytes = left + Array(repeating: 0, count: missing) + right + tail
        } else if halves.count == 1 {
            guard let all = groups(head) else { return nil }
            bytes = all + tail
        } else {
            return nil
        }
        return bytes.count == 16 ? bytes : nil
    }
}
