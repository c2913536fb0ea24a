-- Take or give back one attempt of a token bucket, on the Redis server clock (every node agrees).
-- KEYS[1]  the bucket: HASH t (tokens left, a float) and at (ms when t was computed)
-- ARGV[1]  burst: attempts at once (a missing key is a full bucket)
-- ARGV[2]  window ms: the burst refills evenly over it
-- ARGV[3]  'take' or 'give'
-- Returns 0 when taken (or given), else the ms until an attempt is left (nothing taken).
-- A full bucket is deleted; any other expires when it would be full again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst = tonumber(ARGV[1])
local perMs = burst / tonumber(ARGV[2])
local tokens = burst
local v = redis.call('HMGET', KEYS[1], 't', 'at')
if v[1] and v[2] then
  tokens = math.min(burst, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * perMs)
end
if ARGV[3] == 'take' then
  if tokens < 1 then
    return math.ceil((1 - tokens) / perMs)
  end
  tokens = tokens - 1
else
  tokens = math.min(burst, tokens + 1)
end
if tokens >= burst then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs))
end
return 0
