-- Put connections back into a chat channel's presence, idempotently (a node re-asserting what it
-- holds after the store may have lost it). A present connection changes nothing, so re-asserting
-- never counts a connection twice.
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV     connId, "owner|guest|user", user, connId, ... (triples)
-- Returns {connIds added back, "guest|user" of each user who had no connection before}.
local restored = {}
local joined = {}
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    restored[#restored + 1] = ARGV[i]
    if redis.call('HINCRBY', KEYS[2], ARGV[i + 2], 1) == 1 then
      local guest = string.match(ARGV[i + 1], '^[^|]*|([01])|')
      joined[#joined + 1] = guest .. '|' .. ARGV[i + 2]
    end
  end
end
return {restored, joined}
