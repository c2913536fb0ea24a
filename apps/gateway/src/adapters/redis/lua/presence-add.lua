-- Add one connection to a chat channel's presence (after presence-sample.lua).
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  connId
-- ARGV[2]  "owner|guest|user"
-- ARGV[3]  user
-- ARGV[4]  the most users to list with it (a join's presence state, same round trip); -1: none
-- Returns 1 when this is the user's first connection in the channel (a join), else 0
-- (a second tab, or a connId that is already present); with ARGV[4] >= 0,
-- {that, conn values of at most ARGV[4] distinct users, number of users online}.
local first = 0
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then
    first = 1
  end
end
local max = tonumber(ARGV[4])
if max >= 0 then
  local page = presence_sample(KEYS[1], KEYS[2], max)
  return {first, page[1], page[2]}
end
return first
