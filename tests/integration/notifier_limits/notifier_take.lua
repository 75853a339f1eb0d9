-- notifier_take: one token from each of a send's buckets (notifier_limits.c).
-- KEYS[1]: the destination's pause key; KEYS[2..]: token buckets (hashes
-- with fields t = milli-tokens, ts = last refill, ms).
-- ARGV[2k-1], ARGV[2k]: capacity and period (ms) of bucket k.
-- Reply: 0 when one token was taken from every bucket; otherwise the ms
-- until that could succeed (nothing taken). Time is Redis's own clock so
-- that replicas with skewed clocks share one notion of "now".
local t = redis.call ('TIME')
local now = tonumber (t[1]) * 1000 + math.floor (tonumber (t[2]) / 1000)
local pause = redis.call ('PTTL', KEYS[1])
if pause > 0 then return pause end
local wait, have = 0, {}
for i = 2, #KEYS do
  local cap = tonumber (ARGV[2 * i - 3]) * 1000
  local period = tonumber (ARGV[2 * i - 2])
  local b = redis.call ('HMGET', KEYS[i], 't', 'ts')
  local tokens = tonumber (b[1]) or cap
  local ts = tonumber (b[2]) or now
  if now > ts then tokens = math.min (cap, tokens + math.floor ((now - ts) * cap / period)) end
  if tokens < 1000 then
    local w = math.ceil ((1000 - tokens) * period / cap)
    if w > wait then wait = w end
  end
  have[i] = tokens
end
if wait > 0 then return wait end
for i = 2, #KEYS do
  local period = tonumber (ARGV[2 * i - 2])
  redis.call ('HSET', KEYS[i], 't', have[i] - 1000, 'ts', now)
  redis.call ('PEXPIRE', KEYS[i], period * 2)
end
return 0
