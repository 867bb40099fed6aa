import Core
import Foundation
import Storage
import TallyTestSupport
import Testing

/// The hiredis-backed client against a real Redis server.
@Suite(.enabled(if: TestRedis.enabled, "needs TALLY_TEST_REDIS_URL"))
struct RedisClientTests {
    let prefix = "tally-test:\(UUID().uuidString):"

    @Test func pingSetGetAndBinarySafety() async throws {
        try await TestRedis.withClient { redis in
            #expect(try await redis.send("PING") == .status("PONG"))
            let bytes: [UInt8] = [0, 1, 2, 255, 13, 10, 0]
            let replies = try await redis.pipelineBytes([[Array("SET".utf8), Array((prefix + "bin").utf8), bytes], [Array("GET".utf8), Array((prefix + "bin").utf8)]])
            #expect(replies == [.status("OK"), .bulk(bytes)])
            #expect(try await redis.send("GET", prefix + "missing") == .null)
            _ = try await redis.send("DEL", prefix + "bin")
        }
    }

    @Test func pipelinesReturnEveryReplyInOrder() async throws {
        try await TestRedis.withClient { redis in
            let key = prefix + "counter"
            let replies = try await redis.pipeline(Array(repeating: ["INCR", key], count: 1000))
            #expect(replies.map(\.int) == (1...1000).map { Optional($0) })
            _ = try await redis.send("DEL", key)
        }
    }

    @Test func errorRepliesThrowOrComeBackInPlace() async throws {
        try await TestRedis.withClient { redis in
            do {
                _ = try await redis.send("NOSUCHCOMMAND")
                Issue.record("an unknown command did not fail")
            } catch let error as RedisError {
                #expect(error.kind == .reply)
            }
            let replies = try await redis.pipeline([["PING"], ["NOSUCHCOMMAND"], ["PING"]])
            #expect(replies[0] == .status("PONG"))
            if case .error = replies[1] {} else { Issue.record("expected an error reply, got \(replies[1])") }
            #expect(replies[2] == .status("PONG"))
        }
    }

    @Test func luaScriptsRunAtomically() async throws {
        try await TestRedis.withClient { redis in
            let key = prefix + "lua"
            let script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[1], ARGV[2])"
            #expect(try await redis.send("EVAL", script, "1", key, "40", "2") == .integer(42))
            _ = try await redis.send("DEL", key)
        }
    }

    @Test func manyConcurrentCallersShareThePool() async throws {
        try await TestRedis.withClient({ $0.maximumConnections = 4 }) { redis in
            let key = prefix + "concurrent"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 { group.addTask { _ = try await redis.send("INCR", key) } }
                try await group.waitForAll()
            }
            #expect(try await redis.send("GET", key).int == 200)
            _ = try await redis.send("DEL", key)
        }
    }

    @Test func anUnreachableServerIsAConnectionError() async throws {
        var configuration = RedisClient.Configuration(url: RedisURL(host: "127.0.0.1", port: 1, password: nil, database: 0))
        configuration.connectTimeout = .milliseconds(500)
        let redis = RedisClient(configuration: configuration, logger: TestBackend.logger)
        do {
            _ = try await redis.send("PING")
            Issue.record("connected to port 1")
        } catch let error as RedisError {
            #expect(error.kind == .connection)
            #expect(StorageAvailability.isUnavailable(error))
        }
        await redis.shutdown()
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
    }
}
