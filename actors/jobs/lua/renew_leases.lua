-- renew_leases: the heartbeat extends the leases of the runs its process holds
-- (store.JobStore.renew).
-- KEYS: the records of those runs' jobs.
-- ARGV: 1 the lease (ms), then each run's token (JSON), in the order of KEYS.
-- Extends each lease that is still its run's, by Redis's clock; returns the indexes (1-based) of
-- those that were not (the run was taken over, or ended).
local clock = redis.call('TIME')
local until_ms = clock[1] * 1000 + math.floor(clock[2] / 1000) + tonumber(ARGV[1])
local lost = {}
for i = 1, #KEYS do
    if redis.call('HGET', KEYS[i], '_run') == ARGV[i + 1] then
        redis.call('HSET', KEYS[i], '_lease_until', until_ms)
    else
        lost[#lost + 1] = i
    end
end
return lost
