-- search_batch: a batch of a namespace's job index filtered inside Redis (search.JobFilter,
-- reader.JobReader's listings).
-- KEYS: job records, newest first (a batch of the index), then their messages in the same order
-- (each job's encoded Dramatiq message, searched for its arguments). ARGV: 1 the namespace (JSON, as the
-- record keeps it), 2 statuses (JSON-quoted, comma-separated; empty: any), 3 the job type (JSON;
-- empty: any), 4 the search text as JSON escapes it, lower-cased, 5 the same text unescaped (both
-- empty: no search), 6 how many matches to stop at, 7 and 8 the first and last creation time
-- (``created_at`` as the record keeps it, JSON; empty: unbounded), 9.. the fields to answer for
-- each match.
-- Returns {examined, {{values}, ...}}: how many records were looked at (the first ``examined`` of
-- KEYS, all of them unless the wanted matches were found first), and each match's fields asked
-- for, in the order of KEYS (false for a missing field).
local namespace, statuses, job_type = ARGV[1], ARGV[2], ARGV[3]
local needle, plain, wanted = ARGV[4], ARGV[5], tonumber(ARGV[6])
local created_from, created_to = ARGV[7], ARGV[8]
local read = {}
for i = 9, #ARGV do read[#read + 1] = ARGV[i] end
local function contains(haystack, what)
    return haystack and string.find(string.lower(haystack), what, 1, true) ~= nil
end
local function arguments(message)  -- the kwargs of a Dramatiq message (JSON): before its options
    if not message then return nil end
    local _, from = string.find(message, '"kwargs":', 1, true)
    if not from then return nil end
    local to, at = #message, from
    while true do
        local found = string.find(message, ',"options":', at + 1, true)
        if not found then break end
        to, at = found, found
    end
    return string.sub(message, from + 1, to)
end
local function error_text(raw)
    if not raw or raw == 'null' then return nil end
    local ok, decoded = pcall(cjson.decode, raw)
    if not ok or type(decoded) ~= 'table' then return raw end
    return tostring(decoded['type']) .. ': ' .. tostring(decoded['message'])
end
local jobs = #KEYS / 2
local function found_text(i, key, head)
    if contains(head[1], needle) or contains(head[3], needle) then return true end
    -- the largest last; "_message" for a job written before its message had a key of its own
    local rest = redis.call('HMGET', key, 'error', 'result', '_message')
    local message = redis.call('GET', KEYS[jobs + i]) or rest[3]
    return contains(error_text(rest[1]), plain) or contains(arguments(message), needle)
        or contains(rest[2], needle)
end
local matches, examined, count = {}, 0, 0
for i = 1, jobs do
    local key = KEYS[i]
    examined = i
    local head = redis.call('HMGET', key, 'job_id', '_namespace', 'job_type', 'status', 'created_at')
    local created = head[5] or ''
    if head[2] == namespace
        and (statuses == '' or (head[4] and string.find(statuses, head[4], 1, true)))
        and (job_type == '' or head[3] == job_type)
        and (created_from == '' or created >= created_from)
        and (created_to == '' or created <= created_to)
        and (needle == '' or found_text(i, key, head)) then
        count = count + 1
        matches[#matches + 1] = redis.call('HMGET', key, unpack(read))
        if count >= wanted then break end
    end
end
return {examined, matches}
