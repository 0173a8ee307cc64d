-- Shared head of every grant script (prepended by the Rust side).
--
-- KEYS[1] is the grant's hash and KEYS[2] its sealed grace-window answer; both carry the grant's
-- hash tag, so a script never leaves one cluster slot. Times are integer milliseconds since the
-- Unix epoch on the caller's clock; the Redis TTLs are only the retention backstop.
--
-- Grant hash fields:
--   gid, client, player          who the grant is for
--   code, cexp, redirect, used   the code's hash, expiry, redirect URI, and once used the time
--                                until which its tombstone detects replays
--   pkce                         the code's PKCE challenge (hex SHA-256 of the verifier), if any
--   live, retain                 '1' while the grant holds tokens; until when it is kept
--   cur_a                        hash of the current access token
--   a:<hash>                     an access token: its expiry
--   r:<hash>                     a refresh token: its expiry, and once rotated
--                                '<expiry>,<grace until>,<next refresh>,<next access>,<next access expiry>'
-- Sealed hash fields: refresh (the rotated token's hash), answer (the sealed successor pair).
local grant_key, sealed_key = KEYS[1], KEYS[2]

-- Deletes every token of a live grant and keeps the code's tombstone. Returns 1 when the grant
-- was live.
local function revoke()
  if redis.call('HGET', grant_key, 'live') ~= '1' then
    return 0
  end
  for _, name in ipairs(redis.call('HKEYS', grant_key)) do
    local kind = string.sub(name, 1, 2)
    if kind == 'a:' or kind == 'r:' then
      redis.call('HDEL', grant_key, name)
    end
  end
  redis.call('HDEL', grant_key, 'cur_a')
  redis.call('HSET', grant_key, 'live', '0')
  redis.call('DEL', sealed_key)
  return 1
end

-- Extends the grant's TTL to at least `ms` milliseconds; never shortens it.
local function keep_for(ms)
  if redis.call('PTTL', grant_key) < ms then
    redis.call('PEXPIRE', grant_key, ms)
  end
end

-- Splits a refresh entry into its expiry and, once rotated, the rotation record.
local function refresh_entry(value)
  local expiry, grace_until, next_refresh, next_access, next_access_expiry =
    string.match(value, '^(%d+),(%d+),(%x+),(%x+),(%d+)$')
  if expiry then
    return tonumber(expiry), {
      grace_until = tonumber(grace_until),
      next_refresh = next_refresh,
      next_access = next_access,
      next_access_expiry = next_access_expiry,
    }
  end
  return tonumber(value), nil
end
