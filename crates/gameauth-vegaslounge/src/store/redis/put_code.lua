-- Stores a fresh code as a new grant hash.
-- ARGV: code hash, grant id, client id, player id, redirect URI, code expiry, TTL (ms),
--       PKCE challenge (hex SHA-256 of the verifier, or '' when none).
if redis.call('EXISTS', grant_key) == 1 then
  return redis.error_reply('ERR grant id already in use')
end
redis.call('HSET', grant_key, 'code', ARGV[1], 'gid', ARGV[2], 'client', ARGV[3],
  'player', ARGV[4], 'redirect', ARGV[5], 'cexp', ARGV[6])
if ARGV[8] ~= '' then
  redis.call('HSET', grant_key, 'pkce', ARGV[8])
end
redis.call('PEXPIRE', grant_key, ARGV[7])
return {'stored'}
