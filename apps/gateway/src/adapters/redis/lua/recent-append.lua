-- Add committed messages to a channel's recent-message window, in one round trip.
-- KEYS[1]  recent zset of the channel: seq -> entry
-- KEYS[2]  string: the highest seq the window has seen (two nodes may write out of order)
-- ARGV[1]  window size: the zset keeps the newest ARGV[1] entries
-- ARGV[2..] seq, entry, seq, entry, ...
local n = #ARGV
if n < 3 then return 0 end
local max = 0
for i = 2, n, 2 do
  local s = tonumber(ARGV[i])
  if s > max then max = s end
end
redis.call('ZADD', KEYS[1], unpack(ARGV, 2, n))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
local high = tonumber(redis.call('GET', KEYS[2]) or '0')
if max > high then redis.call('SET', KEYS[2], max) end
return max
