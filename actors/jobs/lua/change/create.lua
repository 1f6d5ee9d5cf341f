-- create: a new job, PENDING (store.JobStore.create).
-- KEYS, ARGV: as _shared.lua says; ARGV's fields are the whole new record, where it lives
-- (change.held) among them.
-- Returns the snapshot, or false when a job with this id exists.
return commit(true)
