-- Looks up an access token in one round trip: its index entry names the grant, whose hash holds
-- the token's expiry (the field exists only while the token is live) and who the grant is for.
-- The grant stays the only authority: revocation and rotation delete the field, so a stale index
-- entry answers nothing.
-- KEYS[1]: the token's index key. ARGV: the key prefix, the token's hash.
-- Returns {} for an unknown token, else {expiry or nil, gid, client, player}.
local pointer = redis.call('GET', KEYS[1])
if not pointer then
  return {}
end
local tag = string.match(pointer, '^(%x+):%x+$')
if not tag or #tag ~= 32 then
  return redis.error_reply('ERR malformed index entry')
end
return redis.call('HMGET', ARGV[1] .. '{' .. tag .. '}:grant', 'a:' .. ARGV[2], 'gid', 'client',
  'player')
