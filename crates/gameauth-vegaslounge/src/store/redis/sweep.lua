-- Drops the records of one grant whose retention ended; returns how many were dropped.
-- ARGV: now, how long an expired access token is kept (ms).
local now, keep_access = tonumber(ARGV[1]), tonumber(ARGV[2])
local dropped = 0
local state = redis.call('HMGET', grant_key, 'code', 'cexp', 'used', 'live', 'retain')
if state[1] and tonumber(state[3] or state[2]) <= now then
  redis.call('HDEL', grant_key, 'code', 'cexp', 'used', 'redirect')
  dropped = dropped + 1
end
if state[4] == '1' and tonumber(state[5]) <= now then
  for _, name in ipairs(redis.call('HKEYS', grant_key)) do
    local kind = string.sub(name, 1, 2)
    if kind == 'a:' or kind == 'r:' then
      dropped = dropped + 1
    end
  end
  dropped = dropped + revoke()
else
  local fields = redis.call('HGETALL', grant_key)
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    local kind = string.sub(name, 1, 2)
    if (kind == 'a:' and tonumber(value) + keep_access <= now)
      or (kind == 'r:' and refresh_entry(value) <= now) then
      redis.call('HDEL', grant_key, name)
      dropped = dropped + 1
    end
  end
end
local sealed_for = redis.call('HGET', sealed_key, 'refresh')
if sealed_for then
  local entry = redis.call('HGET', grant_key, 'r:' .. sealed_for)
  local _, rotated = refresh_entry(entry or '0')
  if not rotated or rotated.grace_until <= now then
    redis.call('DEL', sealed_key)
  end
end
if redis.call('HEXISTS', grant_key, 'code') == 0 and redis.call('HGET', grant_key, 'live') ~= '1' then
  redis.call('DEL', grant_key, sealed_key)
end
return dropped
