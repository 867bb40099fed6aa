/// The Lua scripts behind `RedisJobQueue`: every change to the Redis side of the queue that
/// takes more than one command is one of these, so it is atomic. ARGV[1] is always the key
/// prefix (`tally:jobs:` by default). Under it:
///
/// - `job:<id>`: a hash per job: `q` queue, `k` kind, `t` tenant (empty for platform jobs),
///   `p` priority, `a` args, `n` attempt, `m` max attempts, `r` run at (ms), `c` created at,
///   `s` state, `w` worker;
/// - `q:<queue>:ring:<p>`: tenants (`_` for platform jobs) with ready jobs at priority p,
///   rotated on every fetch so tenants take turns;
/// - `q:<queue>:ready:<p>:<tenant>`: that tenant's ready job ids, oldest first;
/// - `q:<queue>:delayed`: scheduled and retryable jobs scored by run-at;
/// - `q:<queue>:running`: held jobs scored by visibility deadline (heartbeats move it);
/// - `q:<queue>:dead`: the dead-letter queue scored by time of death;
/// - `q:<queue>:signal`: wake-up tokens idle workers block on; `queues`: every queue's name;
///   `epoch`: set by the reconciler, so a flushed Redis is noticed at once.
enum RedisJobScripts {
    static let helpers = """
        local P = ARGV[1]
        local function qkey(q, part) return P .. 'q:' .. q .. ':' .. part end
        local function tag(t) if t == '' then return '_' end return t end
        local function push_ready(q, id, p, t)
          local list = qkey(q, 'ready:' .. p .. ':' .. tag(t))
          if redis.call('RPUSH', list, id) == 1 then redis.call('RPUSH', qkey(q, 'ring:' .. p), tag(t)) end
        end
        local function signal(q)
          redis.call('LPUSH', qkey(q, 'signal'), '1')
          redis.call('LTRIM', qkey(q, 'signal'), 0, 15)
        end
        local function held(q, id, attempt)
          return redis.call('HGET', P .. 'job:' .. id, 'n') == attempt and redis.call('ZSCORE', qkey(q, 'running'), id)
        end

        """

    /// ARGV: prefix, now, mode (`ensure` or `replay`), then per job: id, queue, kind, tenant,
    /// priority, args, attempt, max attempts, run at, created at, state. Creates each job that
    /// Redis does not hold (replay first forgets the dead one) and queues it; returns how many.
    static let dispatch = RedisScript(helpers + """
        local now, mode = tonumber(ARGV[2]), ARGV[3]
        local dispatched, signalled = 0, {}
        for i = 4, #ARGV, 11 do
          local id, q, t, p, run_at = ARGV[i], ARGV[i + 1], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 8])
          local key = P .. 'job:' .. id
          if mode == 'replay' then
            redis.call('ZREM', qkey(q, 'dead'), id)
            redis.call('DEL', key)
          end
          if redis.call('EXISTS', key) == 0 then
            local state = 'available'
            if run_at > now then state = ARGV[i + 10] end
            if state ~= 'scheduled' and state ~= 'retryable' and state ~= 'available' then state = 'scheduled' end
            redis.call('HSET', key, 'q', q, 'k', ARGV[i + 2], 't', t, 'p', p, 'a', ARGV[i + 5], 'n', ARGV[i + 6], 'm', ARGV[i + 7],
              'r', ARGV[i + 8], 'c', ARGV[i + 9], 's', state)
            if state == 'available' then
              push_ready(q, id, p, t)
              if not signalled[q] then signal(q); signalled[q] = true end
            else
              redis.call('ZADD', qkey(q, 'delayed'), run_at, id)
            end
            redis.call('SADD', P .. 'queues', q)
            dispatched = dispatched + 1
          end
        end
        return dispatched
        """)

    /// ARGV: prefix, queue, limit, worker, now, deadline. Promotes due delayed jobs, then takes
    /// up to `limit` ready jobs, priority 1 first, tenants in turn (in rounds that give each
    /// tenant an equal share of what the round began with). Returns per job: id, attempt, kind, tenant, priority, args, max
    /// attempts, run at, created at.
    static let fetch = RedisScript(helpers + """
        local q, limit, worker, now, deadline = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
        local delayed = qkey(q, 'delayed')
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 1000)) do
          local key = P .. 'job:' .. id
          local f = redis.call('HMGET', key, 'p', 't')
          redis.call('ZREM', delayed, id)
          if f[1] then
            redis.call('HSET', key, 's', 'available')
            push_ready(q, id, f[1], f[2])
          end
        end
        local out, got = {}, 0
        local running = qkey(q, 'running')
        for p = 1, 4 do
          if got >= limit then break end
          local ring = qkey(q, 'ring:' .. p)
          local tenants = redis.call('LLEN', ring)
          local visits, share = 0, 0
          while got < limit and tenants > 0 do
            -- A round visits every tenant once; each takes an equal share of what was left when it began.
            if visits == 0 then
              visits = tenants
              share = math.ceil((limit - got) / tenants)
            end
            visits = visits - 1
            local t = redis.call('LMOVE', ring, ring, 'LEFT', 'RIGHT')
            local list = qkey(q, 'ready:' .. p .. ':' .. t)
            local ids = redis.call('LPOP', list, math.min(share, limit - got))
            if (not ids) or redis.call('LLEN', list) == 0 then
              redis.call('LREM', ring, 0, t)
              tenants = redis.call('LLEN', ring)
              if visits > tenants then visits = tenants end
            end
            if ids then
              for _, id in ipairs(ids) do
                local key = P .. 'job:' .. id
                local f = redis.call('HMGET', key, 'n', 'k', 't', 'p', 'a', 'm', 'r', 'c')
                if f[1] then
                  local attempt = tonumber(f[1]) + 1
                  redis.call('HSET', key, 'n', attempt, 's', 'running', 'w', worker)
                  redis.call('ZADD', running, deadline, id)
                  out[#out + 1] = id
                  out[#out + 1] = tostring(attempt)
                  for j = 2, 8 do out[#out + 1] = f[j] or '' end
                  got = got + 1
                end
              end
            end
          end
        end
        return out
        """)

    /// ARGV: prefix, then per job: queue, id, attempt. Forgets each job still held at that
    /// attempt (it completed); returns how many.
    static let complete = RedisScript(helpers + """
        local done = 0
        for i = 2, #ARGV, 3 do
          local q, id = ARGV[i], ARGV[i + 1]
          if held(q, id, ARGV[i + 2]) then
            redis.call('ZREM', qkey(q, 'running'), id)
            redis.call('DEL', P .. 'job:' .. id)
            done = done + 1
          end
        end
        return done
        """)

    /// ARGV: prefix, then per job: queue, id, attempt. Returns the ids of the jobs still held
    /// at that attempt (checked before PostgreSQL is written, so a worker that lost its job
    /// cannot finish it there).
    static let holding = RedisScript(helpers + """
        local out = {}
        for i = 2, #ARGV, 3 do
          if held(ARGV[i], ARGV[i + 1], ARGV[i + 2]) then out[#out + 1] = ARGV[i + 1] end
        end
        return out
        """)

    /// ARGV: prefix, deadline, then per job: queue, id, attempt. Moves the deadline of each
    /// job still held at that attempt; returns their ids.
    static let heartbeat = RedisScript(helpers + """
        local out = {}
        for i = 3, #ARGV, 3 do
          local q, id = ARGV[i], ARGV[i + 1]
          if held(q, id, ARGV[i + 2]) then
            redis.call('ZADD', qkey(q, 'running'), 'XX', ARGV[2], id)
            out[#out + 1] = id
          end
        end
        return out
        """)

    /// ARGV: prefix, now, then per job: queue, id, attempt, new state (`retryable`,
    /// `scheduled`, `dead` or `available`), run at, new attempt. Moves each job still held at
    /// that attempt out of `running`: back to ready (a release), to `delayed`, or to `dead`.
    static let move = RedisScript(helpers + """
        local moved = 0
        for i = 3, #ARGV, 6 do
          local q, id, state, run_at = ARGV[i], ARGV[i + 1], ARGV[i + 3], ARGV[i + 4]
          if held(q, id, ARGV[i + 2]) then
            local key = P .. 'job:' .. id
            redis.call('ZREM', qkey(q, 'running'), id)
            redis.call('HSET', key, 's', state, 'n', ARGV[i + 5], 'r', run_at, 'w', '')
            if state == 'dead' then
              redis.call('ZADD', qkey(q, 'dead'), ARGV[2], id)
            elseif state == 'available' then
              local f = redis.call('HMGET', key, 'p', 't')
              push_ready(q, id, f[1], f[2])
              signal(q)
            else
              redis.call('ZADD', qkey(q, 'delayed'), run_at, id)
            end
            moved = moved + 1
          end
        end
        return moved
        """)

    /// ARGV: prefix, now, limit, claim until. Takes running jobs whose deadline passed (their
    /// worker died or hung), moving their deadline to `claim until` so one rescuer decides
    /// each. Returns per job: id, queue, attempt, kind, tenant, priority, args, max attempts,
    /// run at, created at.
    static let claimLapsed = RedisScript(helpers + """
        local now, limit, claim_until = ARGV[2], tonumber(ARGV[3]), ARGV[4]
        local out, got = {}, 0
        for _, q in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
          if got >= limit then break end
          local running = qkey(q, 'running')
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', running, '-inf', '(' .. now, 'LIMIT', 0, limit - got)) do
            redis.call('ZADD', running, 'XX', claim_until, id)
            local f = redis.call('HMGET', P .. 'job:' .. id, 'n', 'k', 't', 'p', 'a', 'm', 'r', 'c')
            if f[1] then
              out[#out + 1] = id
              out[#out + 1] = q
              for j = 1, 8 do out[#out + 1] = f[j] or '' end
              got = got + 1
            else
              redis.call('ZREM', running, id)
            end
          end
        end
        return out
        """)

    /// ARGV: prefix, then per job: queue, id. Removes every trace of each job (cancel, purge).
    static let forget = RedisScript(helpers + """
        local forgotten = 0
        for i = 2, #ARGV, 2 do
          local q, id = ARGV[i], ARGV[i + 1]
          local key = P .. 'job:' .. id
          local f = redis.call('HMGET', key, 'p', 't')
          if f[1] then
            local list = qkey(q, 'ready:' .. f[1] .. ':' .. tag(f[2]))
            if redis.call('LREM', list, 0, id) > 0 and redis.call('LLEN', list) == 0 then
              redis.call('LREM', qkey(q, 'ring:' .. f[1]), 0, tag(f[2]))
            end
            forgotten = forgotten + 1
          end
          redis.call('ZREM', qkey(q, 'delayed'), id)
          redis.call('ZREM', qkey(q, 'running'), id)
          redis.call('ZREM', qkey(q, 'dead'), id)
          redis.call('DEL', key)
        end
        return forgotten
        """)

    /// ARGV: prefix, queue, want, per second, now (ms). A token bucket per rate-limited queue
    /// (`q:<queue>:rate`: tokens, at), the arithmetic of `TokenBucket`. Returns granted and, when
    /// nothing was granted, the milliseconds until a token is there.
    static let takeStarts = RedisScript(helpers + """
        local key = qkey(ARGV[2], 'rate')
        local want, per_second, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
        local capacity = math.max(1, per_second)
        local rate = capacity / 1000
        local tokens = capacity
        local stored = redis.call('HMGET', key, 'tokens', 'at')
        if stored[1] then
          tokens = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * rate)
        end
        local granted = math.max(0, math.min(want, math.floor(tokens)))
        tokens = tokens - granted
        redis.call('HSET', key, 'tokens', tostring(tokens), 'at', ARGV[5])
        redis.call('PEXPIRE', key, 60000)
        local retry = 0
        if granted == 0 then retry = math.ceil((1 - tokens) / rate) end
        return {granted, retry}
        """)

    /// ARGV: prefix, then job ids. Returns the ids Redis holds no hash for.
    static let missing = RedisScript(helpers + """
        local out = {}
        for i = 2, #ARGV do
          if redis.call('EXISTS', P .. 'job:' .. ARGV[i]) == 0 then out[#out + 1] = ARGV[i] end
        end
        return out
        """)

    /// ARGV: prefix. Per queue: name, ready, running, delayed, dead (counts).
    static let counts = RedisScript(helpers + """
        local out = {}
        for _, q in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
          local ready = 0
          for p = 1, 4 do
            for _, t in ipairs(redis.call('LRANGE', qkey(q, 'ring:' .. p), 0, -1)) do
              ready = ready + redis.call('LLEN', qkey(q, 'ready:' .. p .. ':' .. t))
            end
          end
          out[#out + 1] = q
          out[#out + 1] = ready
          out[#out + 1] = redis.call('ZCARD', qkey(q, 'running'))
          out[#out + 1] = redis.call('ZCARD', qkey(q, 'delayed'))
          out[#out + 1] = redis.call('ZCARD', qkey(q, 'dead'))
        end
        return out
        """)
}
