import CHiredis
import Core
#if canImport(Glibc)
import Glibc
#endif

/// One blocking hiredis connection. It is only ever used by one pool thread at a time
/// (`RedisClient` leases it out), which is why it may cross threads.
final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects, authenticates and selects the database; throws `RedisError.connection`.
    init(url: RedisURL, connectTimeout: Duration, commandTimeout: Duration) throws {
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeval(connectTimeout)) else {
            throw RedisError(.connection, "could not allocate a redis context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError(.connection, "connect to \(url.host):\(url.port): \(message)")
        }
        self.context = context
        // Reads and writes give up after the command timeout, so a stalled server cannot hold a thread for ever.
        redisSetTimeout(context, timeval(commandTimeout))
        var setup: [[String]] = []
        if let password = url.password { setup.append(["AUTH", password]) }
        if url.database != 0 { setup.append(["SELECT", String(url.database)]) }
        if !setup.isEmpty {
            for reply in try pipeline(setup.map { $0.map { Array($0.utf8) } }) {
                if case .error(let message) = reply { throw RedisError(.reply, message) }
            }
        }
    }

    deinit { redisFree(context) }

    /// Whether hiredis has flagged the connection broken (it must then be discarded).
    var isBroken: Bool { context.pointee.err != 0 }

    /// Sends every command, then reads every reply: one round trip for the whole batch.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisValue] {
        for command in commands {
            let status = Self.withArgv(command) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw RedisError(.connection, Self.errorText(context)) }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw RedisError(.connection, Self.errorText(context))
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulk(r.str.map { Array(UnsafeRawBufferPointer(start: $0, count: r.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            return .status(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<r.elements).map { convert(r.element[$0]!) })
        default:
            return .null
        }
    }

    private static func withArgv<T>(_ args: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T) -> T {
        // Copy each argument into one contiguous buffer; hiredis takes pointers and lengths.
        let total = args.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        defer { storage.deallocate() }
        var pointers = [UnsafePointer<CChar>?]()
        var lengths = [Int]()
        pointers.reserveCapacity(args.count)
        lengths.reserveCapacity(args.count)
        var offset = 0
        for arg in args {
            arg.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    UnsafeMutableRawPointer(storage + offset).copyMemory(from: base, byteCount: arg.count)
                }
            }
            pointers.append(UnsafePointer(storage + offset))
            lengths.append(arg.count)
            offset += arg.count
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { argvlen in
                body(Int32(args.count), argv.baseAddress!, argvlen.baseAddress!)
            }
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

private func timeval(_ duration: Duration) -> Glibc.timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
