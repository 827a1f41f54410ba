#!lua name=kinerja
--[[
Kinerja's Redis function library, loaded by the broker at start (FUNCTION LOAD REPLACE).

kinerja_enqueue_many: dedupe and append many accepted events in ONE call (the broker's
  hot path: one call per round of client requests instead of one per event).
  KEYS[2i-1] dedupe key kinerja:dd:<id> of event i (one per id, whatever the shard),
  KEYS[2i]   stream key kinerja:ev:{N} of event i
  ARGV[1] dedupe TTL seconds, then four per event i (base 4i-2):
    id, the event's msgpack bytes, broker receive time in ms, the client's name as
    CURVE authenticated it (stored as field cl; empty without CURVE: no cl field)
  Returns {status, error}: status has one byte per event, in order:
    'a' accepted (stored now), 'd' duplicate (an event with this id was accepted before,
    in an earlier call or earlier in this one), 'r' not stored (retry);
  error is "" or the reason of the first 'r' (every event after it is 'r' too: the
  function stops at the first failure, so a caller never has to guess what happened).

Per event: SET NX EX marks the id, then XADD appends the entry. A function runs alone
and its writes reach the AOF together (one MULTI/EXEC of effects), so no reader ever
sees the mark without the entry. A function is not rolled back when a command in it
fails, so a failed XADD removes the mark it just set before reporting 'r': an id is
never left marked with no event behind it (a loss). If even that DEL failed the
entry is still absent and a resend would be answered duplicate: reported in error.
Events before the failure stay stored and are reported as stored.

kinerja_enqueue: the one-event form (same semantics; kept for scripts and older
  brokers). KEYS[1] dedupe key, KEYS[2] stream key, ARGV[1] id, ARGV[2] bytes,
  ARGV[3] TTL s, ARGV[4] receive ms, ARGV[5] (optional) client name.
  Returns the new stream entry id (accepted) or 0 (duplicate).
]]

local function append(dd, stream, id, ev, ttl, rt, cl)
  if not redis.call('SET', dd, '1', 'NX', 'EX', ttl) then
    return 'd'
  end
  local ok
  if cl and cl ~= '' then
    ok = redis.pcall('XADD', stream, '*', 'id', id, 'ev', ev, 'rt', rt, 'cl', cl)
  else
    ok = redis.pcall('XADD', stream, '*', 'id', id, 'ev', ev, 'rt', rt)
  end
  if type(ok) == 'table' and ok.err then
    local undo = redis.pcall('DEL', dd)
    if type(undo) == 'table' and undo.err then
      return 'r', ok.err .. ' (and the dedupe key ' .. dd .. ' could not be removed: ' .. undo.err .. ')'
    end
    return 'r', ok.err
  end
  return 'a', ok
end

local function enqueue_many(keys, args)
  local n = #keys / 2
  if n ~= math.floor(n) or #args ~= 1 + 4 * n then
    return redis.error_reply('kinerja_enqueue_many: want 2 keys and 4 arguments per event after the TTL')
  end
  local ttl = args[1]
  local status = {}
  local err = ''
  for i = 1, n do
    local a = 4 * i - 2
    local s, why = append(keys[2 * i - 1], keys[2 * i], args[a], args[a + 1], ttl, args[a + 2], args[a + 3])
    if s == 'r' then
      err = why
      for j = i, n do
        status[j] = 'r'
      end
      break
    end
    status[i] = s
  end
  return {table.concat(status), err}
end

local function enqueue(keys, args)
  local s, res = append(keys[1], keys[2], args[1], args[2], args[3], args[4], args[5])
  if s == 'd' then
    return 0
  elseif s == 'r' then
    return redis.error_reply(res)
  end
  return res
end

redis.register_function('kinerja_enqueue_many', enqueue_many)
redis.register_function('kinerja_enqueue', enqueue)
