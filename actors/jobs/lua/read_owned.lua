-- read_owned: the web's reads, each within one namespace, which is checked before anything else
-- is read: a job of another namespace costs what a missing one costs (one HGET), whatever its
-- size, so the time an answer takes tells a foreign job from a missing one no better than its
-- body does (reader.JobReader).
-- KEYS: job records ("records": any number; "fields", "message", "after": one, then for
--       "message" its message, for "after" its history).
-- ARGV: 1 the namespace (JSON, as the record keeps it), 2 what to read: "records" (each record
--       whole, or false), "fields" (ARGV[3..] of the record), "message" (the job's encoded
--       message, or the record's "_message" for a job written before it had a key of its own),
--       "after" (the history's steps back to the event after seq ARGV[3], as many as it keeps,
--       oldest first, and the record: history.py).
-- Returns false for a record not of the namespace ("fields", "message", "after").
local namespace, what = ARGV[1], ARGV[2]
local function owned(key) return redis.call('HGET', key, '_namespace') == namespace end
if what == 'records' then
    local records = {}
    for i, key in ipairs(KEYS) do
        records[i] = owned(key) and redis.call('HGETALL', key) or false
    end
    return records
end
if not owned(KEYS[1]) then return false end
if what == 'fields' then return redis.call('HMGET', KEYS[1], unpack(ARGV, 3)) end
if what == 'message' then return redis.call('GET', KEYS[2]) or redis.call('HGET', KEYS[1], '_message') end
local steps = (tonumber(redis.call('HGET', KEYS[1], 'seq')) or 0) - 1 - tonumber(ARGV[3])
return {steps > 0 and redis.call('LRANGE', KEYS[2], -steps, -1) or {}, redis.call('HGETALL', KEYS[1])}
