-- Publish a channel's batch to the other nodes AND keep its chat messages in the channel's
-- recent-message window, in one round trip (RedisBroker.publish with `retain`).
-- KEYS[1]  recent zset of the channel: seq -> encoded Message event frame
-- KEYS[2]  string: the highest seq the window has seen (two nodes may write out of order)
-- ARGV[1]  window size: the zset keeps the newest ARGV[1] entries
-- ARGV[2]  pub/sub channel (same hash tag as the keys: one slot in Redis Cluster)
-- ARGV[3]  payload to publish
-- ARGV[4]  '1' = SPUBLISH (Redis Cluster, sharded pub/sub), '0' = PUBLISH
-- ARGV[5..] seq, frame, seq, frame, ...
-- Returns the number of receivers, as PUBLISH does.
local n = #ARGV
if n >= 6 then
  local max = 0
  for i = 5, n, 2 do
    local s = tonumber(ARGV[i])
    if s > max then max = s end
  end
  redis.call('ZADD', KEYS[1], unpack(ARGV, 5, n))
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
  local high = tonumber(redis.call('GET', KEYS[2]) or '0')
  if max > high then redis.call('SET', KEYS[2], max) end
end
if ARGV[4] == '1' then
  return redis.call('SPUBLISH', ARGV[2], ARGV[3])
end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
