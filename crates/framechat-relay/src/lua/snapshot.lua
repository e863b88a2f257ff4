-- What a joining client needs. ARGV[4] mode: "meta" (epoch and newest offset
-- only), "fresh" (the newest ARGV[5] messages), "after" (the messages after
-- offset ARGV[5] of epoch ARGV[6]; all of history if that epoch is not the
-- room's or the offset is newer than its newest).
-- Returns {epoch, seq, offset, first_kept, {offset, kind, data, ...}, {open frames, ...}}:
-- kind "d" (frames) or "h" (a hole); first_kept is the oldest offset history
-- can replay whole.
local mode, arg, req_epoch = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local epoch = ensure()
touch()
local seq = tonumber(redis.call('HGET', meta, 'seq'))
local offset = tonumber(redis.call('HGET', meta, 'offset'))
if mode == 'meta' then return {epoch, seq, offset} end

local entries
if mode == 'fresh' then
  local rev = redis.call('XREVRANGE', hist, '+', '-', 'COUNT', arg)
  entries = {}
  for i = #rev, 1, -1 do entries[#entries + 1] = rev[i] end
elseif req_epoch == epoch and arg <= offset then
  entries = redis.call('XRANGE', hist, (arg + 1) .. '-0', '+')
else
  entries = redis.call('XRANGE', hist, '-', '+')
end

local first_kept = offset + 1
for _, s in ipairs(redis.call('LRANGE', sizes, 0, -1)) do
  local o, n = string.match(s, '^(%d+):(%d+)$')
  if tonumber(n) > 0 then first_kept = tonumber(o); break end
end

local done = {}
for _, e in ipairs(entries) do
  done[#done + 1] = tonumber(string.match(e[1], '^(%d+)'))
  done[#done + 1] = e[2][1]
  done[#done + 1] = e[2][2]
end
local open = {}
for _, k in ipairs(redis.call('LRANGE', oq, 0, -1)) do
  local data = redis.call('GET', okey(k))
  if data then open[#open + 1] = data end
end
return {epoch, seq, offset, first_kept, done, open}
