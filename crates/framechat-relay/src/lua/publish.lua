-- One relayed frame: numbers it (seq), records it in its message, gives a
-- finished message the next offset and appends it to history (evicting whole
-- messages past the caps), and publishes it with its position, all at once.
-- ARGV[4] part: W (a message on its own), C (begins and ends one), B (begins),
-- M (middle), E (ends); ARGV[5] message key; ARGV[6] the frame's record;
-- ARGV[7] max messages, ARGV[8] max bytes, ARGV[9] max open messages;
-- ARGV[10] channel; ARGV[11] the publishing relay's tag for this frame.
-- Publishes two messages: "#<epoch> <seq> <offset> <upto> <tag>" (offset 0:
-- ends no message; upto 0: for every subscriber, else only for those whose
-- snapshot is older than seq upto), then the record itself. A script runs at
-- once, so every subscriber gets the two one after the other; and the record is
-- not copied into a new Lua string to publish it, which costs: Lua hashes every
-- byte of every string it makes (about 0.4 ms for 256 KiB). (A message's last
-- frame still reads the whole message into Lua once, for its history entry.)
-- Returns {seq, offset}.
local part, key, rec = ARGV[4], ARGV[5], ARGV[6]
local max_msgs, max_bytes, max_open = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local channel, tag = ARGV[10], ARGV[11]

local epoch = ensure()
local seq = redis.call('HINCRBY', meta, 'seq', 1)
local obytes = tonumber(redis.call('HGET', meta, 'obytes'))
local bytes = tonumber(redis.call('HGET', meta, 'bytes'))

local function is_open(k) return redis.call('LPOS', oq, k) ~= false end

-- Removes open message k; returns its frames (false once dropped).
local function close_open(k)
  local data = redis.call('GET', okey(k))
  redis.call('DEL', okey(k))
  redis.call('LREM', oq, 1, k)
  redis.call('HDEL', od, k)
  if data then obytes = obytes - #data end
  return data
end

-- Appends the frame to open message k, then drops the frames of open
-- messages past the byte cap, stalest first (whole messages' frames only).
local function append(k)
  if redis.call('HEXISTS', od, k) == 0 then
    redis.call('APPEND', okey(k), rec)
    redis.call('EXPIRE', okey(k), ttl)
    obytes = obytes + #rec
  end
  if obytes > max_bytes then
    for _, o in ipairs(redis.call('LRANGE', oq, 0, -1)) do
      if obytes <= max_bytes then break end
      if redis.call('HEXISTS', od, o) == 0 then
        obytes = obytes - redis.call('STRLEN', okey(o))
        redis.call('DEL', okey(o))
        redis.call('HSET', od, o, seq)
      end
    end
  end
end

-- Gives a finished message the next offset and keeps it (or a hole: a
-- position that cannot be replayed), evicting whole messages from the front.
local function finish(data)
  local off = redis.call('HINCRBY', meta, 'offset', 1)
  if data and #data <= max_bytes and max_msgs > 0 then
    redis.call('XADD', hist, off .. '-0', 'd', data)
    redis.call('RPUSH', sizes, off .. ':' .. #data)
    bytes = bytes + #data
  else
    redis.call('XADD', hist, off .. '-0', 'h', '')
    redis.call('RPUSH', sizes, off .. ':0')
  end
  local lim = math.max(max_msgs, 1)
  while redis.call('LLEN', sizes) > lim or bytes > max_bytes do
    local old = redis.call('LPOP', sizes)
    if not old then break end
    local o, n = string.match(old, '^(%d+):(%d+)$')
    redis.call('XDEL', hist, o .. '-0')
    bytes = bytes - tonumber(n)
  end
  return off
end

local off, upto = 0, 0
if part == 'W' then
  off = finish(rec)
elseif part == 'C' or part == 'B' then
  -- A resend restarts its message.
  if is_open(key) then close_open(key) end
  if part == 'C' then
    off = finish(rec)
  elseif max_open > 0 then
    while redis.call('LLEN', oq) >= max_open do close_open(redis.call('LINDEX', oq, 0)) end
    redis.call('RPUSH', oq, key)
    append(key)
  end
elseif part == 'M' then
  if is_open(key) then
    redis.call('LREM', oq, 1, key)
    redis.call('RPUSH', oq, key)
    append(key)
    upto = tonumber(redis.call('HGET', od, key) or 0)
  end
elseif part == 'E' then
  if is_open(key) then
    local dropped = redis.call('HGET', od, key)
    if dropped then
      close_open(key)
      upto = tonumber(dropped)
      off = finish(false)
    else
      -- The last frame joins the others in Redis: the whole message is then
      -- read into Lua once, not copied again by a concatenation.
      redis.call('APPEND', okey(key), rec)
      obytes = obytes + #rec
      off = finish(close_open(key))
    end
  end
end

redis.call('HSET', meta, 'obytes', obytes, 'bytes', bytes)
touch()
redis.call('PUBLISH', channel, '#' .. epoch .. ' ' .. seq .. ' ' .. off .. ' ' .. upto .. ' ' .. tag)
redis.call('PUBLISH', channel, rec)
return {seq, off}
