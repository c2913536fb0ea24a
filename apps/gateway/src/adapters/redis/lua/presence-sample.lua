-- Shared by presence-add.lua and presence-page.lua (prepended when the scripts are loaded).
-- At most `max` of a channel's users (one conn value each: "owner|guest|user") and how many users
-- are online, read in O(max) however many are online: the users hash is counted, and the conns
-- hash is scanned only until `max` distinct users are found.
-- conns: the conns hash (connId -> "owner|guest|user"); users: the users hash (user -> count).
local function presence_sample(conns, users, max)
  local online = redis.call('HLEN', users)
  if max <= 0 then
    return {{}, online}
  end
  if online <= max then
    -- Everyone: each user's tabs are few (PARLEY_MAX_CONNS_PER_USER), so this is O(max) too.
    return {redis.call('HVALS', conns), online}
  end
  local seen, out, cursor = {}, {}, '0'
  repeat
    local r = redis.call('HSCAN', conns, cursor, 'COUNT', 100)
    cursor = r[1]
    local kv = r[2]
    for i = 2, #kv, 2 do
      local user = string.match(kv[i], '^[^|]*|[01]|(.*)$')
      if user and not seen[user] then
        seen[user] = true
        out[#out + 1] = kv[i]
        if #out >= max then
          break
        end
      end
    end
  until cursor == '0' or #out >= max
  return {out, online}
end
