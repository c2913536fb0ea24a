-- Renew a node's lease, on the Redis server clock (node clocks may disagree).
-- KEYS[1]  leases zset: nodeId -> lease expiry (ms)
-- ARGV[1]  nodeId
-- ARGV[2]  ttl ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
