-- List nodes whose lease has lapsed, on the Redis server clock.
-- KEYS[1]  leases zset: nodeId -> lease expiry (ms)
-- (no ARGV)
-- Returns the nodeIds whose expiry is at or before now.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
