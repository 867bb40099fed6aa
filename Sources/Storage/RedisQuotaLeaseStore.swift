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
/// nodes see each other's holdings atomically. Amounts are whole millionths, stored as decimal
/// digits and added, subtracted and compared exactly in the scripts (`bigNumbers`), over the
/// whole range of `Quantity`: Lua's numbers are doubles, exact only to 2^53 millionths (about
/// 9 × 10^9 units), and Lua prints 10^14 or more in exponent form.
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

    /// A signed report in digits: spend rounds up, usage given back (negative) rounds toward zero,
    /// so the pool never counts less spent than was booked.
    static func reportDigits(_ quantity: Quantity) -> String {
        quantity < .zero ? "-\(units(roundingDown: .zero - quantity))" : String(units(roundingUp: quantity))
    }

    /// The pool's hash key (tenant ids and feature keys hold no `:`, so keys cannot collide);
    /// the tenant id in braces keeps a tenant's pools on one Redis Cluster slot.
    func redisKey(_ key: QuotaLeaseKey) -> String { "\(prefix){\(key.tenantID.rawValue)}:\(key.feature):\(key.periodStart)" }

    /// The pool's Redis key (for tests and operators' inspection).
    public func redisKeyForTests(_ key: QuotaLeaseKey) -> String { redisKey(key) }

    /// Exact non-negative integers for the scripts, as two limbs of 12 decimal digits
    /// (`{high, low}`, each exact in a double): parsed from and written as plain digits. A value
    /// some other writer left in exponent form is read as the double it names. `spend` adds a
    /// signed report to a total, which never goes below zero.
    static let bigNumbers = """
        local LIMB = 1000000000000
        local function big(text)
          text = text or '0'
          if string.find(text, '^%d+$') == nil then
            local x = math.max(0, math.floor(tonumber(text) or 0))
            return {math.floor(x / LIMB), x % LIMB}
          end
          local n = string.len(text)
          if n <= 12 then return {0, tonumber(text)} end
          return {tonumber(string.sub(text, 1, n - 12)), tonumber(string.sub(text, n - 11))}
        end
        local function cmp(a, b)
          if a[1] ~= b[1] then if a[1] < b[1] then return -1 else return 1 end end
          if a[2] ~= b[2] then if a[2] < b[2] then return -1 else return 1 end end
          return 0
        end
        local function add(a, b)
          local high, low = a[1] + b[1], a[2] + b[2]
          if low >= LIMB then return {high + 1, low - LIMB} end
          return {high, low}
        end
        local function minus(a, b)
          if cmp(a, b) <= 0 then return {0, 0} end
          local high, low = a[1] - b[1], a[2] - b[2]
          if low < 0 then return {high - 1, low + LIMB} end
          return {high, low}
        end
        local function spend(total, report)
          if string.sub(report, 1, 1) == '-' then return minus(total, big(string.sub(report, 2))) end
          return add(total, big(report))
        end
        local function digits(a)
          if a[1] == 0 then return string.format('%.0f', a[2]) end
          return string.format('%.0f', a[1]) .. string.format('%012.0f', a[2])
        end

        """

    /// KEYS[1] pool. ARGV: node, keep, want, report (signed), limit, seed, now (ms), ttl (ms), pool
    /// ttl (ms). Drops lapsed holdings of other nodes, moves `report` from this node's holding to `spent`,
    /// then sets the holding to as much of keep + want as the limit leaves. Returns the change
    /// from `keep` (signed digits) and the pool's spent total.
    static let adjustScript = RedisScript(bigNumbers + """
        local pool = KEYS[1]
        local node, keep, want, report = ARGV[1], big(ARGV[2]), big(ARGV[3]), ARGV[4]
        local limit, seed, now, ttl, poolTTL = big(ARGV[5]), ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
        if redis.call('EXISTS', pool) == 0 then redis.call('HSET', pool, 'spent', digits(big(seed))) end
        local spent = spend(big(redis.call('HGET', pool, 'spent')), report)
        local others = {0, 0}
        local fields = redis.call('HGETALL', pool)
        for i = 1, #fields, 2 do
          local name = fields[i]
          if string.sub(name, 1, 4) == 'exp:' then
            local holder = string.sub(name, 5)
            if holder ~= node then
              if tonumber(fields[i + 1]) <= now then
                redis.call('HDEL', pool, name, 'out:' .. holder)
              else
                others = add(others, big(redis.call('HGET', pool, 'out:' .. holder)))
              end
            end
          end
        end
        local holding = add(keep, want)
        local available = minus(minus(limit, spent), others)
        if cmp(holding, available) > 0 then holding = available end
        redis.call('HSET', pool, 'spent', digits(spent), 'out:' .. node, digits(holding), 'exp:' .. node, string.format('%.0f', now + ttl))
        redis.call('PEXPIRE', pool, poolTTL)
        local change = digits(minus(holding, keep))
        if cmp(holding, keep) < 0 then change = '-' .. digits(minus(keep, holding)) end
        return {change, digits(spent)}
        """)

    /// KEYS[1] pool. ARGV: node, report (signed). Adds `report` to `spent` and drops the node's holding.
    static let releaseScript = RedisScript(bigNumbers + """
        local pool = KEYS[1]
        if redis.call('EXISTS', pool) == 0 then return 0 end
        redis.call('HSET', pool, 'spent', digits(spend(big(redis.call('HGET', pool, 'spent')), ARGV[2])))
        redis.call('HDEL', pool, 'out:' .. ARGV[1], 'exp:' .. ARGV[1])
        return 1
        """)

    public func adjust(_ request: QuotaLeaseRequest) async throws -> Quantity {
        let (key, node, keep, want, report, limit, seed, ttl) =
            (request.key, request.node, request.keep, request.want, request.report, request.limit, request.seed, request.ttl)
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let poolTTL = max(Int64(86_400_000), (key.periodEnd + 86_400) * 1000 - now)
        let reply = try await Self.adjustScript.evaluate(on: redis, keys: [redisKey(key)], [
            node, String(Self.units(roundingUp: keep)), String(Self.units(roundingDown: want)), Self.reportDigits(report),
            String(Self.units(roundingDown: limit)), String(Self.units(roundingUp: seed)), String(now), String(ttl.totalMilliseconds), String(poolTTL),
        ])
        guard let values = reply.array, let first = values.first?.string, let change = Int128(first) else {
            throw RedisError(.reply, "unexpected reply from the quota lease script: \(reply)")
        }
        return Quantity(billionths: change * Self.unit)
    }

    public func release(_ request: QuotaLeaseRequest) async throws {
        _ = try await Self.releaseScript.evaluate(on: redis, keys: [redisKey(request.key)], [request.node, Self.reportDigits(request.report)])
    }
}
