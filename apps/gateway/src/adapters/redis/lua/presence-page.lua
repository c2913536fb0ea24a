-- Part of a chat channel's presence (PresenceStore.page), after presence-sample.lua.
-- KEYS[1]  conns hash of the channel: connId -> "owner|guest(0/1)|user"
-- KEYS[2]  users hash of the channel: user -> number of connections
-- ARGV[1]  the most users to list
-- Returns {conn values of at most ARGV[1] distinct users, number of users online}.
return presence_sample(KEYS[1], KEYS[2], tonumber(ARGV[1]))
