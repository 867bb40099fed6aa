#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A name for this process among the nodes sharing one Redis: host, process id and a random
/// suffix (a restarted process on the same host and pid is a new node).
public enum NodeIdentity {
    public static func make() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0 ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        let safe = String(host.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".") }.map(Character.init))
        return "\(safe.isEmpty ? "host" : safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}
