-- Rotates a refresh token: a repeat inside the grace window gets the sealed answer, a reuse
-- after it (or after the successor was used) revokes the grant.
-- ARGV: refresh hash, client id, now, grace until, new access hash, access expiry,
--       new refresh hash, refresh expiry, retain until, TTL (ms), grace (ms), sealed answer.
local entry = redis.call('HGET', grant_key, 'r:' .. ARGV[1])
if not entry then
  return {'not_found'}
end
local grant = redis.call('HMGET', grant_key, 'gid', 'client', 'player')
if grant[2] ~= ARGV[2] then
  return {'mismatch'}
end
local now = tonumber(ARGV[3])
local expiry, rotated = refresh_entry(entry)
if rotated then
  local successor = redis.call('HGET', grant_key, 'r:' .. rotated.next_refresh)
  local unused = redis.call('HEXISTS', grant_key, 'a:' .. rotated.next_access) == 1
    and successor and not string.find(successor, ',', 1, true)
  if now < rotated.grace_until and unused then
    local sealed = redis.call('HMGET', sealed_key, 'refresh', 'answer')
    if sealed[1] == ARGV[1] and sealed[2] then
      return {'repeat', grant[1], grant[2], grant[3], sealed[2], rotated.next_access,
        rotated.next_access_expiry, rotated.next_refresh, successor}
    end
  end
  revoke()
  return {'reuse'}
end
if expiry <= now then
  return {'expired'}
end
local current = redis.call('HGET', grant_key, 'cur_a')
if current then
  redis.call('HDEL', grant_key, 'a:' .. current)
end
redis.call('HSET', grant_key,
  'r:' .. ARGV[1], entry .. ',' .. ARGV[4] .. ',' .. ARGV[7] .. ',' .. ARGV[5] .. ',' .. ARGV[6],
  'a:' .. ARGV[5], ARGV[6], 'r:' .. ARGV[7], ARGV[8], 'cur_a', ARGV[5])
if tonumber(ARGV[9]) > tonumber(redis.call('HGET', grant_key, 'retain') or '0') then
  redis.call('HSET', grant_key, 'retain', ARGV[9])
end
-- Refresh tokens past their expiry can never answer again: drop them so a long-lived grant
-- does not collect one entry per rotation.
for _, name in ipairs(redis.call('HKEYS', grant_key)) do
  if string.sub(name, 1, 2) == 'r:' then
    local e = refresh_entry(redis.call('HGET', grant_key, name))
    if e <= now then
      redis.call('HDEL', grant_key, name)
    end
  end
end
redis.call('DEL', sealed_key)
if tonumber(ARGV[11]) > 0 then
  redis.call('HSET', sealed_key, 'refresh', ARGV[1], 'answer', ARGV[12])
  redis.call('PEXPIRE', sealed_key, ARGV[11])
end
keep_for(tonumber(ARGV[10]))
return {'rotated', grant[1], grant[2], grant[3]}
