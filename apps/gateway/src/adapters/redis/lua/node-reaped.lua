-- Close a reaped owner's lease, after its connections were removed (presence-reap.lua).
-- KEYS[1]  leases zset: owner -> lease expiry (ms)
-- KEYS[2]  reaped zset: owner -> when it was reaped (ms); entries older than ARGV[2] are pruned
-- ARGV[1]  owner
-- ARGV[2]  how long to remember a reaped owner (ms)
-- Only the caller that removes the lease records the owner as reaped, so a node that was alive
-- after all learns it from its next heartbeat (node-heartbeat.lua answers -1).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
return 1
