-- Remove one connection from a chat channel's presence.
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  connId
-- Returns 1 when it was the user's last connection in the channel (a leave), 0 when another
-- connection remains, -1 when the connId was not present.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return -1
end
redis.call('HDEL', KEYS[1], ARGV[1])
local user = string.match(v, '^[^|]*|[01]|(.*)$')
if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
  redis.call('HDEL', KEYS[2], user)
  return 1
end
return 0
