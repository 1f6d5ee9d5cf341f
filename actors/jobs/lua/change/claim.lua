-- claim: a run's start (store.JobStore.claim). From PENDING; or from STARTED when the lease has
-- lapsed (a takeover: its message says why, as leases.lost_run does) or is this run's own (its
-- claim repeated after a lost reply: it does not count as another run).
-- KEYS, ARGV: as _shared.lua says; change.run is the new run's token, and change.lease_ms the
-- lease it starts with (by the claimer's clock, until its first renewal).
-- Returns the snapshot; false when the job is finished or unknown; "held" when another run
-- holds a live lease.
if not load() or is_terminal() then return false end
local this_run = is_this_run()
local takeover = values['status'] == '"STARTED"' and not this_run
if takeover and lapsed_ms() < 0 then return 'held' end
local runs = tonumber(values['_runs'] or '0') + (this_run and 0 or 1)
local overrides = {}
if takeover then
    local reason = 'The worker running attempt ' .. (tonumber(values['attempt'] or '') or runs - 1)
        .. ' stopped answering'
    if values['_lease_until'] ~= nil then
        reason = reason .. ' (lease lapsed ' .. math.floor(lapsed_ms() / 1000) .. ' s ago)'
    end
    overrides = {'message', cjson.encode(reason .. '; attempt ' .. runs .. ' runs now')}
end
write('_run', run_json)
write('_lease_until', math.floor(tonumber(change.now_us) / 1000) + change.lease_ms)
write('_runs', runs)
write('attempt', runs)
return commit(false, overrides)
