-- reap: a STARTED job whose run's lease lapsed at least change.lapsed_ms ago is requeued or
-- failed by the reaper (leases.reap); a run that renewed its lease meanwhile keeps its job.
-- KEYS, ARGV: as _shared.lua says.
-- Returns the snapshot, or false when the job is not STARTED with a lease lapsed that long.
if not load() or values['status'] ~= '"STARTED"' or lapsed_ms() < change.lapsed_ms then return false end
return commit(false)
