"""The job store's Lua scripts: each change of a job in one atomic step, and the renewal of leases.

They live apart from ``store.py``, which calls them, because they are a language of their own; the
comment above each says what it is handed (``KEYS``: every key it touches, as Redis requires;
``ARGV``) and what it answers.
"""

from __future__ import annotations

# KEYS: 1 snapshot hash, 2 event log stream, 3 the namespace's job index (creation time in µs ->
#       job id), 4 status-change counters (see metrics.py), 5 running jobs (job id -> start, unix
#       s), 6 jobs waiting for their first start (creation time in µs -> job id: queue positions),
#       for a job in a group: 7 the group's log, 8 the group's job index; and for a change that
#       observes a run's time, last: the run-time histogram and the job type's recent runs.
# ARGV: 1 job id, 2 channel, 3 event name, 4 ttl (s), 5 mode ("create" | "update" | "if:<JSON
#       status>", an update only from that status | "claim:<lease ms>", a run's start: from
#       PENDING, or from STARTED whose lease has lapsed (or is this run's) | "lapsed:<ms>", an
#       update only of a STARTED job whose lease lapsed that long ago), 6 log max length,
#       7 terminal statuses (JSON-quoted, comma separated), 8 the snapshot's group field, 9 the
#       group (JSON: a string, or null), 10 group ttl (s), 11 the namespace, 12 the run token
#       (a claim's new token; for other modes a fence: the change is refused unless it is the
#       job's current run; empty: no fence), 13 a run's time to observe with this status change
#       ("<bucket>\t<seconds>\t<recent runs kept>", or empty), then field/value pairs (values JSON).
# Publishes ``<job_id> <event> <previous group entry id> <group entry id>\n<namespace>\n<group>
# \n<snapshot>`` (entry ids are ``-`` for a job without a group; see JobEvent.from_wakeup).
# Returns the snapshot JSON after the change, false when the change was refused, or "held"
# when a claim finds the job STARTED under another run's live lease.
APPLY_CHANGE = """
local job_id, channel, event, ttl, mode, log_max, terminal =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local group_field, group, group_ttl, namespace, run = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local clock  -- Redis's TIME, read only by the changes that need it (not progress reports)
local function now()
    clock = clock or redis.call('TIME')
    return clock
end
local function now_ms()
    return now()[1] * 1000 + math.floor(now()[2] / 1000)
end
local claim_ms = string.match(mode, '^claim:(%d+)$')
local previous  -- the status before this change (JSON), none for a new job
if mode == 'create' then
    if redis.call('EXISTS', KEYS[1]) == 1 then return false end
else
    local current = redis.call('HMGET', KEYS[1], 'status', group_field, '_namespace', '_run', '_lease_until')
    local status = current[1]
    if not status then return false end
    previous = status
    if string.find(terminal, status, 1, true) then return false end
    local this_run = current[4] == cjson.encode(run)
    local function lapsed_ms() return now_ms() - tonumber(current[5] or '0') end
    if claim_ms then
        if status == '"STARTED"' and not this_run and lapsed_ms() < 0 then return 'held' end
    elseif string.sub(mode, 1, 7) == 'lapsed:' then
        if status ~= '"STARTED"' or lapsed_ms() < tonumber(string.sub(mode, 8)) then return false end
    elseif mode ~= 'update' and mode ~= 'if:' .. status then
        return false
    end
    if run ~= '' and not claim_ms and not this_run then return false end
    local stored = tostring(current[3]) .. ' ' .. tostring(current[2])
    if stored ~= '"' .. namespace .. '" ' .. group then
        local asked = namespace .. ' ' .. group
        return redis.error_reply('job ' .. job_id .. ' is in ' .. stored .. ', not ' .. asked)
    end
    if claim_ms then
        local runs  -- a new run counts; this run's claim repeated after a lost reply does not
        if this_run then
            runs = redis.call('HGET', KEYS[1], '_runs')
        else
            runs = redis.call('HINCRBY', KEYS[1], '_runs', 1)
        end
        redis.call('HSET', KEYS[1], '_run', cjson.encode(run), '_lease_until', now_ms() + tonumber(claim_ms),
            'attempt', runs)
    end
end
if #ARGV > 13 then
    redis.call('HSET', KEYS[1], unpack(ARGV, 14))
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local flat = redis.call('HGETALL', KEYS[1])
local parts, values = {}, {}
for i = 1, #flat, 2 do
    if string.byte(flat[i], 1) ~= 95 then  -- fields starting with '_' are the engine's own
        parts[#parts + 1] = '"' .. flat[i] .. '":' .. flat[i + 1]
        values[flat[i]] = flat[i + 1]
    end
end
local snapshot = '{' .. table.concat(parts, ',') .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', log_max, seq .. '-0', 'event', event, 'snapshot', snapshot)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
if event == 'status' then
    local job_type, status = cjson.decode(values['job_type']), cjson.decode(values['status'])
    redis.call('HINCRBY', KEYS[4], job_type .. '\t' .. status, 1)
    local bucket, seconds, recent = string.match(ARGV[13], '^(.-)\t(.-)\t(%d+)$')
    if bucket then  -- the run's time, observed with its end: histogram, sum, count, recent runs
        local durations, recent_runs = KEYS[#KEYS - 1], KEYS[#KEYS]
        redis.call('HINCRBY', durations, job_type .. '\t' .. bucket, 1)
        redis.call('HINCRBYFLOAT', durations, job_type .. '\tsum', seconds)
        redis.call('HINCRBY', durations, job_type .. '\tcount', 1)
        redis.call('LPUSH', recent_runs, seconds)
        redis.call('LTRIM', recent_runs, 0, tonumber(recent) - 1)
    end
    if status == 'STARTED' then
        redis.call('ZADD', KEYS[5], 'NX', now()[1], job_id)
    elseif previous == '"STARTED"' then
        redis.call('ZREM', KEYS[5], job_id)
    end
    if status ~= 'PENDING' and previous == '"PENDING"' then
        redis.call('ZREM', KEYS[6], job_id)
    end
end
local created
if mode == 'create' then
    created = now()[1] * 1000000 + now()[2]
    redis.call('ZADD', KEYS[3], created, job_id)  -- trimmed by maintenance (sweep), not here
    redis.call('ZADD', KEYS[6], created, job_id)
end
local previous_entry, entry = '-', '-'
if group ~= 'null' then
    local newest = redis.call('XREVRANGE', KEYS[7], '+', '-', 'COUNT', 1)
    previous_entry = newest[1] and newest[1][1] or '0-0'
    entry = redis.call('XADD', KEYS[7], 'MAXLEN', '~', log_max, '*',
        'job_id', job_id, 'event', event, 'snapshot', snapshot)
    redis.call('EXPIRE', KEYS[7], group_ttl)
    if mode == 'create' then
        redis.call('ZADD', KEYS[8], created, job_id)
        redis.call('EXPIRE', KEYS[8], group_ttl)
    end
end
redis.call('PUBLISH', channel, job_id .. ' ' .. event .. ' ' .. previous_entry .. ' ' .. entry
    .. '\\n' .. namespace .. '\\n' .. group .. '\\n' .. snapshot)
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
