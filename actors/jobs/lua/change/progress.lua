-- progress: a running job's report of how far it got (store.JobStore.progress), and its
-- cancellation checkpoint in the same step.
-- KEYS, ARGV: as _shared.lua says (change.event is "progress").
-- Returns the snapshot; false when the job is finished, unknown or not the run's any more;
-- "cancelled" (and nothing written) when the job was asked to cancel.
if not load() or is_terminal() or fenced_out() then return false end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'cancelled' end
return commit(false)
