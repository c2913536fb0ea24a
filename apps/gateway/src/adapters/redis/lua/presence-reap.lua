-- Remove a dead lease owner's connections from one chat channel.
-- Atomic per channel: when several survivors reap the same node at once, each connection is
-- deleted by exactly one of them (HDEL happens once), so each user's count reaches 0 once and
-- each leave is returned to exactly one caller.
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  the dead lease owner
-- ARGV[2..n]  connIds the node had added to this channel
-- Returns the users whose last connection in the channel was removed (the leaves).
local owner = ARGV[1] .. '|'
local leaves = {}
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  -- A connId owned by another node is not ours to remove.
  if v and string.sub(v, 1, #owner) == owner then
    redis.call('HDEL', KEYS[1], ARGV[i])
    local user = string.sub(v, #owner + 3)
    if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
      redis.call('HDEL', KEYS[2], user)
      leaves[#leaves + 1] = user
    end
  end
end
return leaves
