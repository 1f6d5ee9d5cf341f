-- cancel: a client asks to cancel a job (store.JobStore.request_cancel). It flags the job for
-- its worker (KEYS[3], for change.flag_ttl seconds: a run starting later sees it and skips the
-- job); a PENDING job is CANCELLED at once, a STARTED one gets change.cancelling (JSON) as its
-- message until its run stops (and the record's time to live stays change.pending_ttl).
-- KEYS, ARGV: as _shared.lua says; ARGV's fields are those of the CANCELLED change.
-- Returns the snapshot after the request, the unchanged snapshot of a finished job, or false for
-- a job unknown here (another namespace's, say: nothing is flagged then).
local known = redis.call('HGET', KEYS[1], '_namespace')
if known ~= change.held['_namespace'] then return false end
load()
if is_terminal() then return snapshot() end
redis.call('SET', KEYS[3], change.now_us, 'EX', change.flag_ttl)
if values['status'] == '"PENDING"' then return commit(false) end
change.ttl = change.pending_ttl
return commit(false, {'message', change.cancelling, 'status', '"STARTED"', 'finished_at', 'null'})
