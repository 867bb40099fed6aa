import Crypto

/// A Lua script run with EVALSHA (its SHA-1 computed once), loaded with EVAL on `NOSCRIPT`
/// (after a Redis restart, FLUSHALL or SCRIPT FLUSH).
public struct RedisScript: Sendable {
    public let source: String
    public let sha: String

    public init(_ source: String) {
        self.source = source
        self.sha = Insecure.SHA1.hash(data: Array(source.utf8)).hexString
    }

    /// Runs the script; an error reply throws `RedisError.reply`.
    public func evaluate(on redis: RedisClient, keys: [String] = [], _ arguments: [String]) async throws -> RedisValue {
        let tail = [String(keys.count)] + keys + arguments
        let reply = try await redis.pipeline([["EVALSHA", sha] + tail]).first ?? .null
        if case .error(let message) = reply {
            guard message.hasPrefix("NOSCRIPT") else { throw RedisError(.reply, message) }
            let loaded = try await redis.pipeline([["EVAL", source] + tail]).first ?? .null
            if case .error(let message) = loaded { throw RedisError(.reply, message) }
            return loaded
        }
        return reply
    }
}
