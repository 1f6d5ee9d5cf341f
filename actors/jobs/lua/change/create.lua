-- create: a new job, PENDING (store.JobStore.create).
-- KEYS, ARGV: as _shared.lua says; ARGV's fields are the whole new record.
-- Returns the snapshot, or false when a job with this id exists.
write('_namespace', cjson.encode(change.namespace))
return commit(true)
