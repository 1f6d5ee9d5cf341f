-- The part every script that changes a job shares; scripts.py puts it before each script of this folder.
--
-- KEYS (the same for every such script, so each names every key it may touch):
--   1 the job's record (a hash: each value a JSON document)   2 its history (a list: history.py)
--   3 its cancel flag        4 its namespace's job index (creation time in µs -> job id)
--   5 status-change counters (metrics.py)    6 the active jobs (keys.ACTIVE)
--   7 the namespaces by their last creation   8 the namespace's log (every job of it)
--   9 the job's encoded Dramatiq message (a string, kept as long as the record)
--   for a job in a group: 10 the group's log, 11 the group's job index, 12 the namespace's groups
--   (group -> its last creation, unix s)
-- ARGV[1] the change, one JSON object:
--   job_id, namespace, grouped (whether the job is in a group: KEYS 10 to 12), held (the fields
--   that say where the job lives, as the record keeps them: a record whose differ is an error),
--   group (the group's name, or null), run (the writing run's token, "" for none: a fence), event
--   ("status" | "progress"), now_us (the caller's clock, unix µs, as a string: creation order,
--   time to live), ttl (s, the record's from now), log_ttl (s, the shared logs'), log_max
--   (entries kept per log), count (true: count a status change in KEYS[5] here, else the caller
--   counts it), channels (the job's, its group's or "", its namespace's), wakeup (the wake-up's
--   first members, JSON without its closing brace), and what the script's own header names.
-- ARGV[2..] field/value pairs merged into the record (each value JSON); a creation's "_message"
--   (the encoded message, not JSON) goes to KEYS[9] instead.
--
-- A change reads the record once (HGETALL) and writes it once (HSET). Its history gets one entry
-- (RPUSH) saying how to step back from the new record to the one before: the event's name before
-- the change, the snapshot fields it changed as they were, and those it added (history.py reads
-- it); a creation writes none. The record, its history and its message expire together. It
-- publishes a wake-up on the job's channel (not at its creation: no one can watch it yet), its
-- group's and its namespace's, one JSON object: {"job_id", "event", "namespace", "group",
-- "group_entry", "tenant_entry", "snapshot"}, where an entry is [previous entry id, this entry id]
-- in that shared log (group_entry is null for a job without a group): events.JobEvent.from_wakeup.

local change = cjson.decode(ARGV[1])
local run_json = cjson.encode(change.run)  -- as the record keeps it
local TERMINAL = {['"SUCCESS"'] = true, ['"FAILURE"'] = true, ['"CANCELLED"'] = true}
local now_s = math.floor(tonumber(change.now_us) / 1000000)
local order, values, writes = {}, {}, {}  -- the record's fields in order, their values, what to HSET
-- The step back (history.py): the snapshot fields this change writes, in order, and their values
-- before it (false: absent); kept once the record is loaded, each field at its first write.
local loaded, touched, before = false, {}, {}

local function set(field, value)
    if values[field] == nil then order[#order + 1] = field end
    values[field] = value
end

local function write(field, value)
    if loaded and before[field] == nil and string.byte(field, 1) ~= 95 then
        touched[#touched + 1] = field
        before[field] = values[field] or false
    end
    set(field, value)
    writes[#writes + 1] = field
    writes[#writes + 1] = value
end

local clock  -- Redis's own TIME, read only to judge a lease (renewals set leases by this clock)
local function server_ms()
    clock = clock or redis.call('TIME')
    return clock[1] * 1000 + math.floor(clock[2] / 1000)
end

-- How long ago the run's lease lapsed, in ms (negative while it holds).
local function lapsed_ms()
    return server_ms() - tonumber(values['_lease_until'] or '0')
end

local function is_this_run()
    return values['_run'] == run_json
end

-- The history's entry leading back from the change to the record before it (history.py):
-- [event before, {field: value before, ...}] and, when it added fields, their names third.
local function step_back(event)
    local was, added = {}, {}
    for _, field in ipairs(touched) do
        local old = before[field]
        if old == false then
            added[#added + 1] = cjson.encode(field)
        elseif old ~= values[field] then
            was[#was + 1] = cjson.encode(field) .. ':' .. old
        end
    end
    local step = '["' .. event .. '",{' .. table.concat(was, ',') .. '}'
    if #added > 0 then step = step .. ',[' .. table.concat(added, ',') .. ']' end
    return step .. ']'
end

-- Reads the record: false when there is none. A record held elsewhere (another namespace or
-- group) than the change says is an error: the caller's ref is wrong, and nothing is written.
local function load()
    local flat = redis.call('HGETALL', KEYS[1])
    if #flat == 0 then return false end
    for i = 1, #flat, 2 do set(flat[i], flat[i + 1]) end
    loaded = true
    for field, value in pairs(change.held) do
        if values[field] ~= value then
            error('job ' .. change.job_id .. ' is in ' .. field .. ' ' .. tostring(values[field]) .. ', not ' .. value)
        end
    end
    return true
end

local function is_terminal() return TERMINAL[values['status']] == true end

-- The fence: a run's write is refused once the job is not that run's any more.
local function fenced_out() return change.run ~= '' and not is_this_run() end

-- The snapshot as it stands: the record's fields in order, the engine's own ('_...') left out.
local function snapshot()
    local parts = {}
    for _, field in ipairs(order) do
        if string.byte(field, 1) ~= 95 then parts[#parts + 1] = '"' .. field .. '":' .. values[field] end
    end
    return '{' .. table.concat(parts, ',') .. '}'
end

-- Appends to a log of many jobs (bounded, expiring); the ids of its entry before, and of this
-- one, as the wake-up carries them (JSON: entry ids need no escaping).
local function append(log, data, renew)
    local newest = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
    local before = newest[1] and newest[1][1] or '0-0'
    local added = redis.call('XADD', log, 'MAXLEN', '~', change.log_max, '*',
        'job_id', change.job_id, 'event', change.event, 'snapshot', data)
    if renew then redis.call('EXPIRE', log, change.log_ttl) end
    return '["' .. before .. '","' .. added .. '"]'
end

-- Applies the change: ARGV's fields, the next seq, the history, the indexes, the logs and the
-- wake-ups. creating: the job's first write (refused, false, when its record exists); overrides:
-- field/value pairs that win over ARGV's. Returns the snapshot after the change.
local function commit(creating, overrides)
    if creating and redis.call('EXISTS', KEYS[1]) == 1 then return false end
    local previous = values['status']
    local previous_event = values['_event'] or 'status'
    local message
    for i = 2, #ARGV, 2 do
        if ARGV[i] == '_message' then message = ARGV[i + 1] else write(ARGV[i], ARGV[i + 1]) end
    end
    for i = 1, #(overrides or {}), 2 do write(overrides[i], overrides[i + 1]) end
    write('seq', (tonumber(values['seq']) or 0) + 1)
    if change.event ~= previous_event then write('_event', change.event) end
    local status = values['status']
    local ends = TERMINAL[status] == true
    -- Time to live: set by a job's creation and end; between them renewed only once half of it
    -- has passed, so most changes cost no EXPIRE. Its history and message expire with it.
    local expire = creating or ends or tonumber(values['_expires'] or '0') - now_s < change.ttl / 2
    if expire then write('_expires', now_s + change.ttl) end
    local data = snapshot()
    redis.call('HSET', KEYS[1], unpack(writes))
    if creating then
        if message then redis.call('SET', KEYS[9], message, 'EX', change.ttl) end
    else
        local length = redis.call('RPUSH', KEYS[2], step_back(previous_event))
        if length > change.log_max then redis.call('LTRIM', KEYS[2], -change.log_max, -1) end
        if expire or length == 1 then redis.call('EXPIRE', KEYS[2], change.ttl) end
    end
    if expire then
        redis.call('EXPIRE', KEYS[1], change.ttl)
        if not creating then redis.call('EXPIRE', KEYS[9], change.ttl) end
    end
    if change.event == 'status' then
        if change.count then
            redis.call('HINCRBY', KEYS[5], cjson.decode(values['job_type']) .. '\t' .. cjson.decode(status), 1)
        end
        if creating then
            redis.call('ZADD', KEYS[6], change.now_us, change.job_id)
        elseif status == '"STARTED"' and previous ~= '"STARTED"' then
            redis.call('ZADD', KEYS[6], -now_s, change.job_id)
        elseif status ~= previous then
            redis.call('ZREM', KEYS[6], change.job_id)
        end
    end
    if creating then
        redis.call('ZADD', KEYS[4], change.now_us, change.job_id)  -- trimmed by maintenance (sweep)
        redis.call('ZADD', KEYS[7], now_s, change.namespace)
    end
    -- The namespace's log is renewed (to the longest ttl) whenever the record is: it outlives
    -- every job of the namespace, so most changes cost it no EXPIRE.
    local tenant_entry = append(KEYS[8], data, expire)
    local group_entry = 'null'
    if change.grouped then
        group_entry = append(KEYS[10], data, true)
        if creating then
            redis.call('ZADD', KEYS[11], change.now_us, change.job_id)
            redis.call('EXPIRE', KEYS[11], change.log_ttl)
            redis.call('ZADD', KEYS[12], now_s, change.group)
            redis.call('EXPIRE', KEYS[12], change.log_ttl)
        end
    end
    local wakeup = change.wakeup .. ',"group_entry":' .. group_entry .. ',"tenant_entry":' .. tenant_entry
        .. ',"snapshot":' .. data .. '}'
    local job_channel, group_channel, tenant_channel = unpack(change.channels)
    if not creating then redis.call('PUBLISH', job_channel, wakeup) end
    if group_channel ~= '' then redis.call('PUBLISH', group_channel, wakeup) end
    redis.call('PUBLISH', tenant_channel, wakeup)
    return data
end
