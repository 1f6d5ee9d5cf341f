-- create: a new job, PENDING (store.JobStore.create), and, when the change says so, its message
-- sent to its Dramatiq queue in the same step (store.JobStore.create_and_send).
-- KEYS: as _shared.lua says; when sending, then the queue's list and its messages' hash
-- (dramatiq_adapter.sending).
-- ARGV: as _shared.lua says; ARGV's fields are the whole new record, where it lives (change.held)
-- and the encoded message (under change.message_field) among them. change.send: the message's
-- id in Redis, or absent.
-- Returns the snapshot, or false when a job with this id exists (nothing is sent then).
local created = commit(true)
if created and change.send then
    -- What Dramatiq's RedisBroker.enqueue does (its dispatch.lua, "enqueue"): the message under
    -- its Redis id in the queue's hash, the id at the queue's tail.
    local message
    for i = 2, #ARGV, 2 do
        if ARGV[i] == change.message_field then message = ARGV[i + 1] end
    end
    redis.call('HSET', KEYS[#KEYS], change.send, message)
    redis.call('RPUSH', KEYS[#KEYS - 1], change.send)
end
return created
