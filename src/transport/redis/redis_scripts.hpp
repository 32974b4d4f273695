#pragma once
// The Lua scripts of the Redis transport. Each runs atomically in Redis, which is what makes
// the seq, the stream entry and the id index one unit, and what elects exactly one node to
// announce the departure of a dead node's subscribers.
//
// Keys (P = the stream name from the URL):
//   P             the stream; entry id "<seq>-0", field u = the encoded update
//   P:seq         the last seq assigned (INCR)
//   P:ids         sorted set: event id -> seq, trimmed together with the stream
//   P:events      list: the seqs of the subscription events still in the stream, oldest first
//   P:gone        sorted set: the seqs of subscription events deleted to keep events_size
//                 (the newest max(10 x events_size, 1000)): a hole in the seqs made of these
//                 is not a gap; any other hole is (trimmed or lost updates)
//   P:nodes       sorted set: node id -> its last heartbeat (Redis server time, ms)
//   P:node:<id>   hash: the node's registry record (info JSON, heartbeat)
//   P:subs:<id>   hash: subscriber id -> presence record, for the node's subscribers
namespace herald::redis_scripts {

/// KEYS: stream, seq, ids, events, gone. ARGV: record, event id, max_len (0 = unbounded),
/// "1" for a subscription event, events_size. Returns the seq. Subscription events are kept
/// apart: max_len counts updates only (the stream may hold the events besides), and beyond
/// events_size the oldest event is deleted (XDEL), so churn never pushes updates out.
inline constexpr const char* kPublish = R"lua(
if redis.call('EXISTS', KEYS[2]) == 0 then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then redis.call('SET', KEYS[2], string.match(last[1][1], '^(%d+)')) end
end
local seq = redis.call('INCR', KEYS[2])
local id = string.format('%d-0', seq)
local is_event = ARGV[4] == '1'
local maxlen = tonumber(ARGV[3])
if maxlen > 0 then
  maxlen = maxlen + redis.call('LLEN', KEYS[4])
  if is_event then maxlen = maxlen + 1 end
end
local added
if maxlen > 0 then
  added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', maxlen, id, 'u', ARGV[1])
else
  added = redis.pcall('XADD', KEYS[1], id, 'u', ARGV[1])
end
if type(added) == 'table' and added.err then
  redis.call('DECR', KEYS[2])
  return added
end
redis.call('ZADD', KEYS[3], seq, ARGV[2])
if is_event then
  redis.call('RPUSH', KEYS[4], seq)
  local bound = tonumber(ARGV[5])
  while redis.call('LLEN', KEYS[4]) > bound do
    local old = redis.call('LPOP', KEYS[4])
    redis.call('XDEL', KEYS[1], old .. '-0')
    redis.call('ZREMRANGEBYSCORE', KEYS[3], old, old)
    redis.call('ZADD', KEYS[5], old, old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(math.max(10 * bound, 1000) + 1))
end
if maxlen > 0 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #first > 0 then
    local first_seq = tonumber(string.match(first[1][1], '^(%d+)'))
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. first_seq)
    while true do
      local e = redis.call('LINDEX', KEYS[4], 0)
      if not e or tonumber(e) >= first_seq then break end
      redis.call('LPOP', KEYS[4])
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. first_seq)
  end
end
return seq
)lua";

/// KEYS: nodes, node record. ARGV: node id, info JSON, record ttl (ms). Returns 1 when the
/// node was not registered (first beat, or reaped after a silence: its presence was dropped).
inline constexpr const char* kHeartbeat = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'info', ARGV[2], 'heartbeat', now)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return added
)lua";

/// KEYS: nodes. ARGV: key prefix "P:", ttl (ms). Removes the nodes silent for longer than ttl
/// and returns their subscribers' presence records: the one caller that gets them announces
/// their departure, so it happens once in the cluster.
inline constexpr const char* kReap = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local out = {}
for _, node in ipairs(dead) do
  local subs = redis.call('HVALS', ARGV[1] .. 'subs:' .. node)
  for _, s in ipairs(subs) do out[#out + 1] = s end
  redis.call('DEL', ARGV[1] .. 'subs:' .. node, ARGV[1] .. 'node:' .. node)
  redis.call('ZREM', KEYS[1], node)
end
return out
)lua";

/// KEYS: nodes. ARGV: key prefix "P:", ttl (ms). The presence records of every live node,
/// node by node in node-id order (stable: heartbeats reorder the sorted set, not this).
inline constexpr const char* kPresence = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')
table.sort(nodes)
local out = {}
for _, node in ipairs(nodes) do
  local subs = redis.call('HGETALL', ARGV[1] .. 'subs:' .. node)
  for i = 2, #subs, 2 do out[#out + 1] = subs[i] end
end
return out
)lua";

/// KEYS: nodes. ARGV: key prefix "P:", ttl (ms). Redis's time (ms), then the nodes heard from
/// within twice the ttl (dead ones stay until reaped): id, last heartbeat (Redis time, ms) and
/// info record, three elements per node.
inline constexpr const char* kNodes = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], now - 2 * tonumber(ARGV[2]), '+inf', 'WITHSCORES')
local out = {now}
for i = 1, #nodes, 2 do
  out[#out + 1] = nodes[i]
  out[#out + 1] = nodes[i + 1]
  out[#out + 1] = redis.call('HGET', ARGV[1] .. 'node:' .. nodes[i], 'info') or ''
end
return out
)lua";

/// KEYS: nodes. ARGV: key prefix "P:". Removes every node's registration and presence
/// records (herald cluster reset); the nodes write them again on their next heartbeat.
inline constexpr const char* kReset = R"lua(
local nodes = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, node in ipairs(nodes) do
  redis.call('DEL', ARGV[1] .. 'subs:' .. node, ARGV[1] .. 'node:' .. node)
end
redis.call('DEL', KEYS[1])
return #nodes
)lua";

}  // namespace herald::redis_scripts
