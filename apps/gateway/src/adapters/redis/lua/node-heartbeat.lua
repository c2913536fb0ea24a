-- Renew a lease owner's lease, on the Redis server clock (node clocks may disagree).
-- KEYS[1]  leases zset: owner -> lease expiry (ms)
-- KEYS[2]  reaped zset: owner -> when it was reaped (ms)
-- ARGV[1]  owner
-- ARGV[2]  ttl ms
-- Returns 1 when the lease was there (renewed), -1 when the owner had been reaped as dead (its
-- leaves were announced: it must announce its connections again), 0 when there was no lease at all
-- (a first start, or the store lost it: its connections must be put back, silently).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) == 0
if held then
  return 1
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  return -1
end
return 0
