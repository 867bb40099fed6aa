import Core
import Metering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Quota leases in Redis: one hash per pool (`tally:quota:{tenant}:{feature}:{period start}`)
/// holding `spent` (booked and reported) and, per node, `out:<node>` (held) and `exp:<node>`
/// (when the holding lapses, in milliseconds). Every change is one Lua script, so concurrent
/// nodes see each other's holdings atomically. Amounts are whole millionths (Lua numbers are
/// doubles: exact to 2^53, so pools up to about 9 × 10^9 units).
public struct RedisQuotaLeaseStore: QuotaLeaseStore {
    let redis: RedisClient
    let prefix: String

    public init(redis: RedisClient, prefix: String = "tally:quota:") {
        self.redis = redis
        self.prefix = prefix
    }

    /// Billionths per Redis unit.
    static let unit: Int128 = 1_000

    /// Spends and holdings round up to a whole millionth (never under-reported); grants and
    /// limits round down (never over-granted).
    static func units(roundingUp quantity: Quantity) -> Int128 { (max(quantity.billionths, 0) + unit - 1) / unit }
    static func units(roundingDown quantity: Quantity) -> Int128 { max(quantity.billionths, 0) / unit }

    /// The pool's hash key (tenant ids and feature keys hold no `:`, so keys cannot collide);
    /// the tenant id in braces keeps a tenant's pools on one Redis Cluster slot.
    func redisKey(_ key: QuotaLeaseKey) -> String { "\(prefix){\(key.tenantID.rawValue)}:\(key.feature):\(key.periodStart)" }

    /// The pool's Redis key (for tests and operators' inspection).
    public func redisKeyForTests(_ key: QuotaLeaseKey) -> String { redisKey(key) }

    /// KEYS[1] pool. ARGV: node, keep, want, report, limit, seed, now (ms), ttl (ms), pool ttl (ms).
    /// Drops lapsed holdings of other nodes, moves `report` from this node's holding to `spent`,
    /// then sets the holding to as much of keep + want as the limit leaves. Returns the change
    /// from `keep` and the pool's spent total.
    static let adjustScript = RedisScript("""
        local pool = KEYS[1]
        local node, keep, want, report = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local limit, seed, now, ttl, poolTTL = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
        if redis.call('EXISTS', pool) == 0 then redis.call('HSET', pool, 'spent', seed) end
        local spent = tonumber(redis.call('HGET', pool, 'spent') or '0') + report
        local others = 0
        local fields = redis.call('HGETALL', pool)
        for i = 1, #fields, 2 do
          local name = fields[i]
          if string.sub(name, 1, 4) == 'exp:' then
            local holder = string.sub(name, 5)
            if holder ~= node then
              if tonumber(fields[i + 1]) <= now then
                redis.call('HDEL', pool, name, 'out:' .. holder)
              else
                others = others + tonumber(redis.call('HGET', pool, 'out:' .. holder) or '0')
              end
            end
          end
        end
        local available = limit - spent - others
        if available < 0 then available = 0 end
        local holding = keep + want
        if holding > available then holding = available end
        redis.call('HSET', pool, 'spent', spent, 'out:' .. node, holding, 'exp:' .. node, now + ttl)
        redis.call('PEXPIRE', pool, poolTTL)
        return {tostring(holding - keep), tostring(spent)}
        """)

    /// KEYS[1] pool. ARGV: node, report. Adds `report` to `spent` and drops the node's holding.
    static let releaseScript = RedisScript("""
        local pool = KEYS[1]
        if redis.call('EXISTS', pool) == 0 then return 0 end
        redis.call('HINCRBY', pool, 'spent', ARGV[2])
        redis.call('HDEL', pool, 'out:' .. ARGV[1], 'exp:' .. ARGV[1])
        return 1
        """)

    public func adjust(_ request: QuotaLeaseRequest) async throws -> Quantity {
        let (key, node, keep, want, report, limit, seed, ttl) =
            (request.key, request.node, request.keep, request.want, request.report, request.limit, request.seed, request.ttl)
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let poolTTL = max(Int64(86_400_000), (key.periodEnd + 86_400) * 1000 - now)
        let reply = try await Self.adjustScript.evaluate(on: redis, keys: [redisKey(key)], [
            node, String(Self.units(roundingUp: keep)), String(Self.units(roundingDown: want)), String(Self.units(roundingUp: report)),
            String(Self.units(roundingDown: limit)), String(Self.units(roundingUp: seed)), String(now), String(ttl.totalMilliseconds), String(poolTTL),
        ])
        guard let values = reply.array, let first = values.first?.string, let change = Int128(first) else {
            throw RedisError(.reply, "unexpected reply from the quota lease script: \(reply)")
        }
        return Quantity(billionths: change * Self.unit)
    }

    public func release(_ request: QuotaLeaseRequest) async throws {
        _ = try await Self.releaseScript.evaluate(on: redis, keys: [redisKey(request.key)], [request.node, String(Self.units(roundingUp: request.report))])
    }
}
