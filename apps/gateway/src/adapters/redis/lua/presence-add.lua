-- Add one connection to a chat channel's presence.
-- KEYS[1]  conns hash of the channel: connId -> "nodeId|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  connId
-- ARGV[2]  "nodeId|guest|user"
-- ARGV[3]  user
-- Returns 1 when this is the user's first connection in the channel (a join), else 0
-- (a second tab, or a connId that is already present).
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then
  return 1
end
return 0
