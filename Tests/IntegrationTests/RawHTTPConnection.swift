import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TallyTestSupport

/// A blocking TCP connection for sending a request in pieces (to hold it in flight).
final class RawHTTPConnection: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSetupError("connect failed")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        var text = text
        _ = text.withUTF8 { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads until the peer closes, the response is complete or the receive timeout passes, on
    /// a thread of its own: a blocking read on Swift's cooperative pool would hold one of its
    /// threads (as many as cores) while the server under test, and every suite running beside
    /// it, need them.
    func readAll() async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.readAllBlocking()) }.start()
        }
    }

    private func readAllBlocking() -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data += buffer[0..<count]
            if let text = String(validating: data, as: UTF8.self), text.contains("\r\n\r\n"), Self.complete(text) { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether a response with a Content-Length has all its body.
    private static func complete(_ text: String) -> Bool {
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<headerEnd.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return true }
        return text[headerEnd.upperBound...].utf8.count >= length
    }
}
