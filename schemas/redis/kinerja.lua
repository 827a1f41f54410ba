#!lua name=kinerja
--[[
Kinerja's Redis function library, loaded by the broker at start (FUNCTION LOAD REPLACE).

kinerja_enqueue: dedupe and append one accepted event atomically.
  KEYS[1] dedupe key  kinerja:dd:<id>     (one per id, whatever the shard)
  KEYS[2] stream key  kinerja:ev:{N}
  ARGV[1] event id, ARGV[2] the event's msgpack bytes, ARGV[3] dedupe TTL seconds,
  ARGV[4] broker receive time in ms, ARGV[5] (optional) the client's name as CURVE
  authenticated it (stored as field cl; absent or empty without CURVE)
Returns the new stream entry id (accepted) or 0 (an event with this id was accepted
before: duplicate). A function runs alone, and its writes reach the AOF together.

Order matters because a script is not rolled back when a command in it fails: the
stream entry is written first and the dedupe key only after it. If XADD fails nothing
was written and the caller answers retry; if SET failed after XADD, the event is stored
without its dedupe key and a resend could store it twice, which the ingest worker
absorbs (event_log is idempotent on the event id). The other order could mark an id as
seen with no event behind it: a loss, which is worse.
]]
local function enqueue(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return 0
  end
  local entry
  if args[5] and args[5] ~= '' then
    entry = redis.call('XADD', keys[2], '*', 'id', args[1], 'ev', args[2], 'rt', args[4], 'cl', args[5])
  else
    entry = redis.call('XADD', keys[2], '*', 'id', args[1], 'ev', args[2], 'rt', args[4])
  end
  redis.call('SET', keys[1], '1', 'EX', args[3])
  return entry
end

redis.register_function('kinerja_enqueue', enqueue)
