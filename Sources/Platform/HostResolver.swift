import Core
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Resolves a host name to its addresses with getaddrinfo on NIO's blocking thread pool (never
/// on Swift concurrency's threads). A literal address resolves to itself.
public struct HostResolver: Sendable {
    public init() {}

    public func addresses(of host: String) async throws -> [NetworkAddress] {
        if let literal = NetworkAddress(host) { return [literal] }
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &list)
            guard status == 0, let first = list else {
                throw TallyError(.validationFailed, "the host \(host) does not resolve", field: "url")
            }
            defer { freeaddrinfo(first) }
            var out: [NetworkAddress] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let entry = cursor {
                if let address = entry.pointee.ai_addr {
                    if entry.pointee.ai_family == AF_INET {
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                            withUnsafeBytes(of: v4.pointee.sin_addr) { out.append(NetworkAddress(bytes: Array($0))!) }
                        }
                    } else if entry.pointee.ai_family == AF_INET6 {
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                            withUnsafeBytes(of: v6.pointee.sin6_addr) { out.append(NetworkAddress(bytes: Array($0))!) }
                        }
                    }
                }
                cursor = entry.pointee.ai_next
            }
            return Array(Set(out))
        }
    }
}
