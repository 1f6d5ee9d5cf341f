-- link_retry: a finished job names the job that runs it again (store.JobStore.link_retry):
-- ARGV's field retried_by, as a status event of its own, so that every stream sees the link.
-- The only change a finished job takes; it is not a status change, so it is never counted.
-- KEYS, ARGV: as _shared.lua says.
-- Returns the snapshot, or false when the job is unknown.
if not load() then return false end
return commit(false)
