"""Lua scripts: each one changes several keys of a queue atomically."""

from __future__ import annotations

# KEYS: jobs, stream, delayed. ARGV: id, record, due_ms ("0": now).
ENQUEUE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] == '0' then
  redis.call('XADD', KEYS[2], '*', 'i', ARGV[1], 'r', ARGV[2])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
return 1
"""

# Move due delayed jobs to the stream. KEYS: jobs, stream, delayed. ARGV: now_ms, limit.
PROMOTE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[1], id)
  if rec then redis.call('XADD', KEYS[2], '*', 'i', id, 'r', rec) end
  redis.call('ZREM', KEYS[3], id)
end
local nxt = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if nxt[2] then return {#ids, nxt[2]} end
return {#ids, 0}
"""

# Finish a delivery only while its consumer still holds the entry (not taken back by another). KEYS: stream, jobs.
# ARGV: group, entry id, job id, consumer.
ACK = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[4] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
"""

# KEYS: stream, jobs, delayed. ARGV: group, entry id, job id, new record, due_ms, consumer.
RETRY = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[6] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return 1
"""

# KEYS: stream, jobs, dead, dead_order. ARGV: group, entry id, job id, dead record, failed_ms, consumer.
DEAD = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[6] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
return 1
"""

# KEYS: dead, dead_order, jobs, stream. ARGV: job id, new record.
REPLAY = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2]) == 0 then return 1 end
redis.call('XADD', KEYS[4], '*', 'i', ARGV[1], 'r', ARGV[2])
return 1
"""
