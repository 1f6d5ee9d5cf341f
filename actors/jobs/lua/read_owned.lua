-- read_owned: the web's reads, each within one namespace, which is checked before anything else
-- is read: a job of another namespace costs what a missing one costs (one HGET), whatever its
-- size, so the time an answer takes tells a foreign job from a missing one no better than its
-- body does (reader.JobReader).
-- KEYS: job records ("records": any number; "fields", "after": one, and for "after" its log
--       second).
-- ARGV: 1 the namespace (JSON, as the record keeps it), 2 what to read: "records" (each record
--       whole, or false), "fields" (ARGV[3..] of the record), "after" (the log's entries from id
--       ARGV[3] on, and the record).
-- Returns false for a record not of the namespace ("fields", "after").
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
return {redis.call('XRANGE', KEYS[2], ARGV[3], '+'), redis.call('HGETALL', KEYS[1])}
