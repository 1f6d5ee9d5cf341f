-- unpark: a parked message sent back (fairness.py) is removed from its namespace's list, and the
-- namespace from the set of those with parked messages once its list is empty, in one step (a
-- message parked meanwhile keeps both).
-- KEYS: 1 the namespace's parked list, 2 the set. ARGV: 1 the message as parked, 2 the namespace.
redis.call('LREM', KEYS[1], 1, ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
