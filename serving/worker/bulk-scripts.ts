import { LuaScript } from './redis-connection.js';

/*
 * The bulk writes that must happen together run as Lua scripts: Redis runs a script atomically
 * and writes its effects to the append-only file as one transaction, so a crash or a restart
 * never leaves half of one.
 */

/**
 * A worker finished a chunk. KEYS: stream, job hash, results hash. ARGV: group, entry id, chunk
 * index, encoded results, rows ok, rows failed, result TTL (s), now (ms).
 * The results are written only if this chunk has none yet (HSETNX), and the counters move only
 * with that write, so a chunk scored twice (claimed from a worker presumed dead, or queued twice
 * by a submitter that resent after a lost connection) counts once. The entry is acknowledged after
 * the write, in the same step. A cancelled or unknown (expired) job is acknowledged without a write.
 * Job and results expire a result TTL after the last write, so a long job never outlives them.
 * Returns 1 (written), 0 (already written) or -1 (job cancelled, failed or gone).
 */
export const COMPLETE_CHUNK = new LuaScript(`
local state = redis.call('HGET', KEYS[2], 'state')
local wrote = -1
if state == 'queuing' or state == 'queued' or state == 'done' then
  wrote = 0
  if redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4]) == 1 then
    wrote = 1
    redis.call('EXPIRE', KEYS[3], ARGV[7])
    redis.call('EXPIRE', KEYS[2], ARGV[7])
    redis.call('HSETNX', KEYS[2], 'startedAt', ARGV[8])
    redis.call('HINCRBY', KEYS[2], 'rowsOk', ARGV[5])
    redis.call('HINCRBY', KEYS[2], 'rowsFailed', ARGV[6])
    local done = redis.call('HINCRBY', KEYS[2], 'chunksDone', 1)
    local total = tonumber(redis.call('HGET', KEYS[2], 'chunksTotal'))
    if state == 'queued' and total ~= nil and done >= total then
      redis.call('HSET', KEYS[2], 'state', 'done', 'finishedAt', ARGV[8])
      redis.call('EXPIRE', KEYS[2], ARGV[7])
      redis.call('EXPIRE', KEYS[3], ARGV[7])
    end
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return wrote
`);

/**
 * The submitter queued the last chunk. KEYS: job hash, results hash. ARGV: chunks, rows, now (ms),
 * result TTL (s). A job whose chunks were all answered while it was still queuing is done at once.
 * Returns the job's state afterwards (false when the job is gone).
 */
export const FINISH_QUEUING = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queuing' then return state end
redis.call('HSET', KEYS[1], 'chunksTotal', ARGV[1], 'rowsTotal', ARGV[2], 'state', 'queued', 'queuedAt', ARGV[3])
local done = tonumber(redis.call('HGET', KEYS[1], 'chunksDone') or '0')
if done >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'done', 'finishedAt', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 'done'
end
return 'queued'
`);

/**
 * Ends a job that is not done: cancelled (by a person) or failed (the submitter gave up).
 * KEYS: job hash, results hash. ARGV: new state, now (ms), TTL (s), reason.
 * Returns the state before (false when the job is gone).
 */
export const END_JOB = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queuing' or state == 'queued' then
  redis.call('HSET', KEYS[1], 'state', ARGV[1], 'finishedAt', ARGV[2], 'reason', ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return state
`);

/**
 * Drops the entries every consumer of the group has acknowledged, so the stream holds only
 * queued and in-progress chunks and Redis memory stays bounded. KEYS: stream. ARGV: group.
 * Trimming (XTRIM MINID) leaves no tombstones, unlike XDEL, so the group's lag stays exact for
 * KEDA's redis-streams trigger. Returns the number of entries dropped.
 */
export const TRIM_ACKNOWLEDGED = new LuaScript(`
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if not ok then return 0 end
local last = nil
for _, g in ipairs(groups) do
  local name, id = nil, nil
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then id = g[i + 1] end
  end
  if name == ARGV[1] then last = id end
end
if last == nil then return 0 end
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
local minid = summary[2]
if not minid then
  local ms, seq = string.match(last, '^(%d+)-(%d+)$')
  if ms == nil then return 0 end
  minid = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
end
return redis.call('XTRIM', KEYS[1], 'MINID', minid)
`);

/**
 * The submitter queues one chunk. KEYS: stream, job hash. ARGV: rows, result TTL (s), then the
 * entry's fields. Nothing is queued for a job that is no longer queuing (cancelled meanwhile).
 * Returns the new entry's id, or the job's state when it was not queued.
 */
export const QUEUE_CHUNK = new LuaScript(`
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'queuing' then return state or 'gone' end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('HINCRBY', KEYS[2], 'rowsQueued', ARGV[1])
redis.call('HINCRBY', KEYS[2], 'chunksQueued', 1)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return id
`);
