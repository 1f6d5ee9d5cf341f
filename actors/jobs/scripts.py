"""The job store's Lua scripts: each change of a job in one atomic step, and the renewal of leases.

They live apart from ``store.py``, which calls them, because they are a language of their own; the
comment above each says what it is handed (``KEYS``: every key it touches, as Redis requires;
``ARGV``) and what it answers.
"""

from __future__ import annotations

# KEYS: 1 snapshot hash, 2 event log stream, 3 the namespace's job index (creation time in µs ->
#       job id), 4 status-change counters (see metrics.py), 5 the active jobs (keys.ACTIVE), 6 the
#       namespaces by their last creation (keys.NAMESPACES), 7 the namespace's log (every job of
#       it: keys.tenant_log), and for a job in a group: 8 the group's log, 9 the group's job index.
# ARGV: 1 job id, 2 event name, 3 ttl (s), 4 mode ("create" | "update" | "if:<JSON status>", an
#       update only from that status | "claim:<lease ms>", a run's start: from PENDING, or from
#       STARTED whose lease has lapsed (or is this run's; a takeover's message then says why, as
#       leases.lost_run does) | "lapsed:<ms>", an update only of a
#       STARTED job whose lease lapsed that long ago), 5 log max length, 6 terminal statuses
#       (JSON-quoted, comma separated), 7 the snapshot's group field, 8 the group (JSON: a string,
#       or null), 9 group (and namespace) log ttl (s), 10 the namespace, 11 the run token (a
#       claim's new token; for other modes a fence: the change is refused unless it is the job's
#       current run; empty: no fence), 12 "1" to count a status change in KEYS[4] here (else its
#       caller counts it), 13 the caller's clock (unix µs: creation order, time to live, a claim's
#       first lease; whether a lease has lapsed is judged by Redis's TIME, which renewals use too),
#       14 the job's wake-up channel, 15 its group's (or empty), 16 its namespace's, then
#       field/value pairs.
# Reads the record once (HGETALL) and writes it once (HSET). Publishes ``<job_id> <event>
# <previous group entry id> <group entry id> <previous namespace entry id> <namespace entry
# id>\n<namespace>\n<group>\n<snapshot>`` (group entry ids are ``-`` for a job without a group;
# see JobEvent.from_wakeup) on the job's channel (not at its creation: no one can watch it yet),
# its group's and its namespace's.
# Returns the snapshot JSON after the change, false when the change was refused, or "held"
# when a claim finds the job STARTED under another run's live lease.
APPLY_CHANGE = """
local job_id, event, ttl, mode, log_max, terminal =
    ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local group_field, group, group_ttl, namespace, run = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local count_here, now_us, job_channel, group_channel = ARGV[12] == '1', ARGV[13], ARGV[14], ARGV[15]
local tenant_channel = ARGV[16]
local now_s, now_ms = math.floor(tonumber(now_us) / 1000000), math.floor(tonumber(now_us) / 1000)
local clock  -- Redis's own TIME, read only to judge another run's lease (renewals set it by this clock)
local function server_ms()
    clock = clock or redis.call('TIME')
    return clock[1] * 1000 + math.floor(clock[2] / 1000)
end
local order, values, writes = {}, {}, {}  -- the record's fields in order, their values, what to HSET
local function set(field, value)
    if values[field] == nil then order[#order + 1] = field end
    values[field] = value
end
local function write(field, value)
    set(field, value)
    writes[#writes + 1] = field
    writes[#writes + 1] = value
end
local claim_ms = tonumber(string.match(mode, '^claim:(%d+)$'))
local takeover  -- for a claim that takes a job from a run whose lease lapsed: why (the message)
-- Why a run was lost, as leases.lost_run says it: its worker stopped renewing its lease.
local function lost_run(attempt)
    local reason = 'The worker running attempt ' .. attempt .. ' stopped answering'
    if values['_lease_until'] == nil then return reason end
    local ago = math.floor((server_ms() - tonumber(values['_lease_until'])) / 1000)
    return reason .. ' (lease lapsed ' .. ago .. ' s ago)'
end
local previous  -- the status before this change (JSON), none for a new job
if mode ~= 'create' then
    local flat = redis.call('HGETALL', KEYS[1])
    if #flat == 0 then return false end
    for i = 1, #flat, 2 do set(flat[i], flat[i + 1]) end
    local status = values['status']
    previous = status
    if string.find(terminal, status, 1, true) then return false end
    local this_run = values['_run'] == cjson.encode(run)
    local function lapsed_ms() return server_ms() - tonumber(values['_lease_until'] or '0') end
    if claim_ms then
        if status == '"STARTED"' and not this_run and lapsed_ms() < 0 then return 'held' end
    elseif string.sub(mode, 1, 7) == 'lapsed:' then
        if status ~= '"STARTED"' or lapsed_ms() < tonumber(string.sub(mode, 8)) then return false end
    elseif mode ~= 'update' and mode ~= 'if:' .. status then
        return false
    end
    if run ~= '' and not claim_ms and not this_run then return false end
    local stored = tostring(values['_namespace']) .. ' ' .. tostring(values[group_field])
    if stored ~= '"' .. namespace .. '" ' .. group then
        local asked = namespace .. ' ' .. group
        return redis.error_reply('job ' .. job_id .. ' is in ' .. stored .. ', not ' .. asked)
    end
    if claim_ms then  -- a new run counts; this run's claim repeated after a lost reply does not
        local runs = tonumber(values['_runs'] or '0') + (this_run and 0 or 1)
        if status == '"STARTED"' and not this_run then  -- a takeover: its event says why
            takeover = lost_run(tonumber(values['attempt'] or '') or runs - 1) .. '; attempt ' .. runs
                .. ' runs now'
        end
        write('_run', cjson.encode(run))
        write('_lease_until', now_ms + claim_ms)  -- the claimer's clock, until its first renewal
        write('_runs', runs)
        write('attempt', runs)
    end
end
for i = 17, #ARGV, 2 do write(ARGV[i], ARGV[i + 1]) end
if takeover then write('message', cjson.encode(takeover)) end
write('seq', (tonumber(values['seq']) or 0) + 1)
local status = values['status']
local ends = string.find(terminal, status, 1, true) ~= nil
-- Time to live: set by a job's creation and end; between them renewed only once half of it has
-- passed, so most changes cost no EXPIRE. The log gets its own with the first renewal or the end.
local expire = mode == 'create' or ends or tonumber(values['_expires'] or '0') - now_s < ttl / 2
if expire then write('_expires', now_s + ttl) end
local parts = {}
for _, field in ipairs(order) do
    if string.byte(field, 1) ~= 95 then  -- fields starting with '_' are the engine's own
        parts[#parts + 1] = '"' .. field .. '":' .. values[field]
    end
end
local snapshot = '{' .. table.concat(parts, ',') .. '}'
local seq = values['seq']
if mode == 'create' then  -- the log's first entry is 1-0: a second create of the same id is refused
    local added = redis.pcall('XADD', KEYS[2], '1-0', 'event', event, 'snapshot', snapshot)
    if type(added) == 'table' and added.err then return false end
else
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', log_max, seq .. '-0', 'event', event, 'snapshot', snapshot)
end
redis.call('HSET', KEYS[1], unpack(writes))
if expire then
    redis.call('EXPIRE', KEYS[1], ttl)
    if mode ~= 'create' then redis.call('EXPIRE', KEYS[2], ttl) end
end
if event == 'status' then
    if count_here then
        redis.call('HINCRBY', KEYS[4], cjson.decode(values['job_type']) .. '\t' .. cjson.decode(status), 1)
    end
    if mode == 'create' then
        redis.call('ZADD', KEYS[5], now_us, job_id)
    elseif status == '"STARTED"' and previous ~= '"STARTED"' then
        redis.call('ZADD', KEYS[5], -now_s, job_id)
    elseif status ~= previous then
        redis.call('ZREM', KEYS[5], job_id)
    end
end
if mode == 'create' then
    redis.call('ZADD', KEYS[3], now_us, job_id)  -- trimmed by maintenance (sweep), not here
    redis.call('ZADD', KEYS[6], now_s, namespace)
end
-- Appends to a log of many jobs (bounded, expiring); the id of its entry before, and of this one.
local function append(log, renew)
    local newest = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
    local before = newest[1] and newest[1][1] or '0-0'
    local added = redis.call('XADD', log, 'MAXLEN', '~', log_max, '*',
        'job_id', job_id, 'event', event, 'snapshot', snapshot)
    if renew then redis.call('EXPIRE', log, group_ttl) end
    return before, added
end
-- The namespace's log is renewed (to the longest ttl) whenever a job's record is: it outlives
-- every job of the namespace, so most changes cost it no EXPIRE.
local previous_tenant_entry, tenant_entry = append(KEYS[7], expire)
local previous_entry, entry = '-', '-'
if group ~= 'null' then
    previous_entry, entry = append(KEYS[8], true)
    if mode == 'create' then
        redis.call('ZADD', KEYS[9], now_us, job_id)
        redis.call('EXPIRE', KEYS[9], group_ttl)
    end
end
local wakeup = job_id .. ' ' .. event .. ' ' .. previous_entry .. ' ' .. entry
    .. ' ' .. previous_tenant_entry .. ' ' .. tenant_entry
    .. '\\n' .. namespace .. '\\n' .. group .. '\\n' .. snapshot
if mode ~= 'create' then  -- nobody can be watching a job that did not exist
    redis.call('PUBLISH', job_channel, wakeup)
end
if group_channel ~= '' then
    redis.call('PUBLISH', group_channel, wakeup)
end
redis.call('PUBLISH', tenant_channel, wakeup)
return snapshot
"""

# KEYS: the snapshot hashes of the runs this process holds. ARGV: 1 lease (ms), then each run's
# token (JSON), in the order of KEYS. Extends each lease that is still its run's; returns how
# many were, and the indexes (1-based) of those that were not (the run was taken over, or ended).
RENEW_LEASES = """
local clock = redis.call('TIME')
local until_ms = clock[1] * 1000 + math.floor(clock[2] / 1000) + tonumber(ARGV[1])
local lost = {}
for i = 1, #KEYS do
    if redis.call('HGET', KEYS[i], '_run') == ARGV[i + 1] then
        redis.call('HSET', KEYS[i], '_lease_until', until_ms)
    else
        lost[#lost + 1] = i
    end
end
return lost
"""

# Reads for the web, each within one namespace, which is checked before anything else is read: a job
# of another namespace costs what a missing one costs (one HGET), whatever its size, so the time an
# answer takes tells a foreign job from a missing one no better than its body does.
# KEYS: job records ("records": any number; "fields", "after": one, and for "after" its log second).
# ARGV: 1 the namespace (JSON, as the record keeps it), 2 what to read: "records" (each record
#       whole, or false), "fields" (ARGV[3..] of the record), "after" (the log's entries from id
#       ARGV[3] on, and the record).
# Returns false for a record not of the namespace ("fields", "after").
READ_OWNED = """
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
"""

# A parked message sent back (fairness.py): removed from its namespace's list, and the namespace
# from the set of those with parked messages once its list is empty, in one step (a message parked
# meanwhile keeps both). KEYS: 1 the namespace's parked list, 2 the set. ARGV: 1 the message as
# parked, 2 the namespace.
UNPARK = """
redis.call('LREM', KEYS[1], 1, ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
"""
