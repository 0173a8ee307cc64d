-- Reserves one attempt in a fixed window, unless the window is full.
-- KEYS[1]: the counter hash (start, failures). ARGV: now (ms), window (ms), limit.
-- Returns 0 when reserved, else the milliseconds until the window ends.
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local counter = redis.call('HMGET', KEYS[1], 'start', 'failures')
local start, failures = counter[1], tonumber(counter[2] or '0')
if not start or tonumber(start) + window <= now then
  start, failures = ARGV[1], 0
end
local remaining = tonumber(start) + window - now
if failures >= limit then
  return remaining
end
redis.call('HSET', KEYS[1], 'start', start, 'failures', tostring(failures + 1))
redis.call('PEXPIRE', KEYS[1], remaining)
return 0
