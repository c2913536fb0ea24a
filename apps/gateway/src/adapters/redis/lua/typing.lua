-- Update and read a chat channel's typing set, on the Redis server clock.
-- KEYS[1]  typing zset of the channel: user -> expiry (ms)
-- ARGV[1]  user to update, or '' to only read
-- ARGV[2]  ttl ms: > 0 marks the user typing until now + ttl; 0 clears the user
-- Returns the users typing now, after pruning expired entries. The key expires with its
-- longest-lived entry, so an abandoned channel leaves nothing behind.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[1] ~= '' then
  if ttl > 0 then
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
    if redis.call('PTTL', KEYS[1]) < ttl then
      redis.call('PEXPIRE', KEYS[1], ttl)
    end
  else
    redis.call('ZREM', KEYS[1], ARGV[1])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
