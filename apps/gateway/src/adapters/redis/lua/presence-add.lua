-- Add one connection to a chat channel's presence.
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  connId
-- ARGV[2]  "owner|guest|user"
-- ARGV[3]  user
-- ARGV[4]  "1" to also return the channel's conns (a join's presence state, same round trip)
-- Returns 1 when this is the user's first connection in the channel (a join), else 0
-- (a second tab, or a connId that is already present); with ARGV[4] = "1", {that, HVALS KEYS[1]}.
local first = 0
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then
    first = 1
  end
end
if ARGV[4] == '1' then
  return {first, redis.call('HVALS', KEYS[1])}
end
return first
