-- Everything a node publishes within one event-loop tick, for any number of topics, in ONE round
-- trip (RedisBroker, standalone Redis only: in Redis Cluster the channels' keys live in different
-- slots, so there each publish is its own call to publish-retain.lua). In order, per item: keep
-- its chat messages in the channel's recent-message window (as publish-retain.lua does), then
-- PUBLISH its payload.
-- KEYS     for each item that retains frames, in item order: its recent zset, its high-mark string
-- ARGV[1]  window size: a zset keeps the newest ARGV[1] entries
-- ARGV[2..] items, each: pub/sub channel, payload, n (number of retained frames), then n × (seq, frame)
-- Returns the number of items published.
local size = tonumber(ARGV[1])
local a = 2
local k = 1
local items = 0
local n_args = #ARGV
while a <= n_args do
  local channel, payload, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  if n > 0 then
    local recent, high = KEYS[k], KEYS[k + 1]
    k = k + 2
    local last = a + 2 * n - 1
    local max = 0
    for i = a, last, 2 do
      local s = tonumber(ARGV[i])
      if s > max then max = s end
    end
    redis.call('ZADD', recent, unpack(ARGV, a, last))
    redis.call('ZREMRANGEBYRANK', recent, 0, -(size + 1))
    local seen = tonumber(redis.call('GET', high) or '0')
    if max > seen then redis.call('SET', high, max) end
    a = last + 1
  end
  redis.call('PUBLISH', channel, payload)
  items = items + 1
end
return items
