import NIOCore

/// A minimal HTTP/1.1 response reader for the load generator: the status line, the headers it
/// needs (`Content-Length`, `Retry-After`) and a `Content-Length` body. Tally's API answers every
/// request with a length-delimited body, and a benchmark client should spend its CPU on sending,
/// not on a general parser (NIO's `HTTPResponseDecoder` also needs every request to pass through
/// its encoder, which the pre-rendered requests skip). Anything else (chunked bodies, no length,
/// a malformed head) is an error, which ends the connection.
struct HTTPResponseReader: ByteToMessageDecoder {
    typealias InboundOut = Response

    struct Response {
        var status: Int
        var retryAfter: Int?
        var body: ByteBuffer
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// The head, once read, while the body is awaited.
    private var pending: (status: Int, retryAfter: Int?, length: Int)?

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if pending == nil {
            guard let headLength = buffer.withUnsafeReadableBytes(Self.headLength) else {
                guard buffer.readableBytes < 64 * 1024 else { throw Malformed(description: "response head over 64 KiB") }
                return .needMoreData
            }
            let head = buffer.readBytes(length: headLength)!
            pending = try Self.parseHead(head)
        }
        guard let (status, retryAfter, length) = pending, buffer.readableBytes >= length else { return .needMoreData }
        let body = buffer.readSlice(length: length)!
        pending = nil
        context.fireChannelRead(wrapInboundOut(Response(status: status, retryAfter: retryAfter, body: body)))
        return .continue
    }

    /// The length of the head including its blank line (`\r\n\r\n`), if all of it is here.
    static func headLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = 3
        while index < bytes.count {
            if bytes[index] == 10, bytes[index - 1] == 13, bytes[index - 2] == 10, bytes[index - 3] == 13 { return index + 1 }
            index += 1
        }
        return nil
    }

    static func parseHead(_ head: [UInt8]) throws -> (Int, Int?, Int) {
        // "HTTP/1.1 200 OK\r\n..."
        guard head.count >= 12, head.starts(with: Array("HTTP/1.".utf8)) else { throw Malformed(description: "not an HTTP/1 response") }
        let status = head[9..<12].reduce(0) { $0 * 10 + Int($1) - 48 }
        var length: Int?
        var retryAfter: Int?
        var lineStart = head.firstIndex(of: 10).map { $0 + 1 } ?? head.count
        while lineStart < head.count {
            let lineEnd = head[lineStart...].firstIndex(of: 13) ?? head.count
            let line = head[lineStart..<lineEnd]
            if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = line[lineStart..<colon]
                let value = line[(colon + 1)...].drop { $0 == 32 }
                if Self.equalsIgnoringCase(name, "content-length") {
                    length = Int(String(decoding: value, as: UTF8.self))
                } else if Self.equalsIgnoringCase(name, "retry-after") {
                    retryAfter = Int(String(decoding: value, as: UTF8.self))
                } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
                    throw Malformed(description: "chunked responses are not expected")
                }
            }
            lineStart = lineEnd + 2
        }
        guard (100...599).contains(status), let length, length >= 0 else { throw Malformed(description: "response without a status or Content-Length") }
        return (status, retryAfter, length)
    }

    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        for (offset, byte) in bytes.enumerated() where (byte | 0x20) != name.utf8Start[offset] {
            return false
        }
        return true
    }
}
