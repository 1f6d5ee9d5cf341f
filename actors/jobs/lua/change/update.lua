-- update: a job moves to a new status, or its fields change (store.JobStore.transition: a run's
-- end, its retry, and what tests and tools write).
-- KEYS, ARGV: as _shared.lua says; change.from, if present, is the only status (JSON) the job
-- may move from.
-- Returns the snapshot; false when the job is finished, unknown, not in change.from, or not the
-- writing run's any more.
if not load() or is_terminal() or fenced_out() then return false end
if change.from and values['status'] ~= change.from then return false end
return commit(false)
