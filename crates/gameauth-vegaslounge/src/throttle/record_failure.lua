-- Counts one failed authentication in a fixed window.
-- KEYS[1]: the counter hash (start, failures). ARGV: now (ms), window (ms).
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local counter = redis.call('HMGET', KEYS[1], 'start', 'failures')
local start, failures = counter[1], tonumber(counter[2] or '0')
if not start or tonumber(start) + window <= now then
  start, failures = ARGV[1], 0
end
failures = failures + 1
redis.call('HSET', KEYS[1], 'start', start, 'failures', tostring(failures))
redis.call('PEXPIRE', KEYS[1], tonumber(start) + window - now)
return failures
