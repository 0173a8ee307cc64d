-- Gives back a reservation made at ARGV[1] (ms): the attempt succeeded. A window that started
-- after the reservation is left alone.
-- KEYS[1]: the counter hash (start, failures).
local counter = redis.call('HMGET', KEYS[1], 'start', 'failures')
local start, failures = tonumber(counter[1]), tonumber(counter[2])
if start and failures and failures > 0 and start <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'failures', tostring(failures - 1))
end
return 0
