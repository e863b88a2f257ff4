-- Shared head of publish.lua and snapshot.lua (cluster.rs joins them).
-- KEYS[1] meta (hash: epoch, seq, offset, bytes, obytes), KEYS[2] hist (stream:
-- one entry per finished message, id "<offset>-0", field d = its frames or h =
-- a hole), KEYS[3] sizes (list "<offset>:<bytes>", oldest first), KEYS[4] open
-- (list of the keys of messages in progress, stalest first), KEYS[5] dropped
-- (hash: key of an open message whose frames were dropped -> seq of the drop).
-- The frames of an open message are in the string <prefix>o:<key>.
-- ARGV[1] prefix, ARGV[2] a fresh epoch in case the room has none, ARGV[3] ttl (s).
local meta, hist, sizes, oq, od = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, cand, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function okey(k) return prefix .. 'o:' .. k end

-- The room's epoch; a room without one (new, expired, or a Redis that lost its
-- data) starts a new epoch and drops whatever else is left of it.
local function ensure()
  local epoch = redis.call('HGET', meta, 'epoch')
  if epoch then return epoch end
  for _, k in ipairs(redis.call('LRANGE', oq, 0, -1)) do redis.call('DEL', okey(k)) end
  redis.call('DEL', hist, sizes, oq, od)
  redis.call('HSET', meta, 'epoch', cand, 'seq', 0, 'offset', 0, 'bytes', 0, 'obytes', 0)
  return cand
end

-- Every touch keeps the room for another ttl.
local function touch()
  for _, k in ipairs({meta, hist, sizes, oq, od}) do redis.call('EXPIRE', k, ttl) end
end
