-- Consumes a code once and makes the grant live with its first pair; a replay revokes it.
-- ARGV: code hash, client id, '1' when a redirect URI was sent, that URI, now,
--       access hash, access expiry, refresh hash, refresh expiry, retain until, TTL (ms),
--       PKCE verifier (hex SHA-256 of the code_verifier, or '' when none was sent).
local code = redis.call('HMGET', grant_key, 'code', 'client', 'redirect', 'cexp', 'used', 'gid',
  'player', 'pkce')
if code[1] ~= ARGV[1] then
  return {'not_found'}
end
if code[5] then
  revoke()
  return {'replayed'}
end
if code[2] ~= ARGV[2] or (ARGV[3] == '1' and code[3] ~= ARGV[4]) then
  return {'mismatch'}
end
if (code[8] or '') ~= ARGV[12] then
  return {'pkce_mismatch'}
end
if tonumber(code[4]) <= tonumber(ARGV[5]) then
  -- An unused code is all an unredeemed grant holds.
  redis.call('DEL', grant_key, sealed_key)
  return {'expired'}
end
redis.call('HSET', grant_key, 'used', ARGV[10], 'live', '1', 'retain', ARGV[10], 'cur_a', ARGV[6],
  'a:' .. ARGV[6], ARGV[7], 'r:' .. ARGV[8], ARGV[9])
keep_for(tonumber(ARGV[11]))
return {'issued', code[6], code[2], code[7]}
