#!lua name=kinerja
--[[
Kinerja's Redis function library, loaded by the broker at start (FUNCTION LOAD REPLACE).

kinerja_enqueue: dedupe and append one accepted event atomically.
  KEYS[1] dedupe key  kinerja:dd:{N}:<id>
  KEYS[2] stream key  kinerja:ev:{N}       (same hash tag: one cluster slot)
  ARGV[1] event id, ARGV[2] the event's msgpack bytes, ARGV[3] dedupe TTL seconds,
  ARGV[4] broker receive time in ms
Returns the new stream entry id (accepted) or 0 (an event with this id was accepted
before: duplicate). Both writes, or neither, reach the AOF (a function is atomic).
]]
local function enqueue(keys, args)
  if redis.call('SET', keys[1], '1', 'NX', 'EX', args[3]) then
    return redis.call('XADD', keys[2], '*', 'id', args[1], 'ev', args[2], 'rt', args[4])
  end
  return 0
end

redis.register_function('kinerja_enqueue', enqueue)
