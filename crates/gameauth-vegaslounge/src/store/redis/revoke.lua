-- Revokes a grant. Returns whether it was live, and its player id (to update the player's set).
return {tostring(revoke()), redis.call('HGET', grant_key, 'player') or ''}
