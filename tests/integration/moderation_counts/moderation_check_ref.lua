-- The Lua script moderation counted behaviour with until issue 19 (commit
-- 3f4f0fa, services/moderation/moderation_check.lua), kept unchanged as the
-- reference the counting in C is compared with (moderation_counts.c).
-- moderation_check: what Redis counts per event (moderation_behaviour.c),
-- for a batch's events in one call (one per brand on a Redis Cluster),
-- not one call per event.
-- The events are counted one after another in the order given (the
-- batch's), each exactly as it would be alone, so a group's decisions
-- come in message order. Per event, 9 KEYS and 13 ARGV as below; inside
-- check(), KEYS and ARGV are that event's.
-- KEYS (all tagged by brand, so one slot):
--   1 flood zset      fl:{b:B}:G:M        msg ids by time
--   2 mute            mute:{b:B}:M        not read here (see below)
--   3 block set       block:{b:B}         not read here
--   4 repeat zset     rp:{b:B}:G:M:H      msg ids of content H by time
--   5 wave zset       sw:{b:B}:H          "G:M:S" of content H by last time (S: store, or g<G>)
--   6 joined          jn:{b:B}:G:M        join time ms, expires after the newcomer window
--   7 join-wave zset  jw:{b:B}:S          join msg ids by time (S: store, or g<G>)
--   8 join-wave flag  jwf:{b:B}:S         set while a join wave lasts
--   9 seen set        md:ids:{b:B}:D      not read here
-- The mute, the block set and the finished ids are only read, and no
-- event of the call changes them: plain commands after the call read
-- them for all its events at once (moderation_reads_plan), cheaper than
-- three Lua calls per event. Their keys stay in KEYS, so the call and its
-- reads are planned from the same arguments.
-- ARGV: 1 msg id, 2 event time ms, 3 kind (chat|join|other), 4 member id,
--   5 group id, 6 flood window ms, 7 repeat window ms, 8 wave window ms
--   (0: not counted), 9 newcomer key lifetime ms, 10 join-wave window ms,
--   11 join-wave joins, 12 join-wave hold ms, 13 the group's store (S).
-- Reply: per event, in order, {flood, repeat, wave groups of this member,
--   wave members, joined ms, join wave on, wave stores of this member},
--   or an error (that event is judged without these counts).
-- Counts are sets of message ids (or of group:member), so a redelivered
-- event is counted once. Every key expires; the wave set is capped.
-- Add a message to a window's zset (kept keep windows long) and count
-- the messages of the window w (ms) ending at t.
local function window(key, w, keep, t, id)
  redis.call('ZADD', key, t, id)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', t - w * keep)
  local c = redis.call('ZCOUNT', key, t - w + 1, t)
  redis.call('PEXPIRE', key, w * keep)
  return c
end

local function check(KEYS, ARGV)
  local t = tonumber(ARGV[2])
  local kind = ARGV[3]
  local n, rep, wg, wm, ws, joined, jwa = 0, 0, 0, 0, 0, 0, 0
  if kind == 'chat' then
    local w = tonumber(ARGV[6])
    if w > 0 then n = window(KEYS[1], w, 4, t, ARGV[1]) end
    local rw = tonumber(ARGV[7])
    if rw > 0 then rep = window(KEYS[4], rw, 2, t, ARGV[1]) end
    local ww = tonumber(ARGV[8])
    if ww > 0 then
      local me = ARGV[5] .. ':' .. ARGV[4] .. ':' .. ARGV[13]
      local old = tonumber(redis.call('ZSCORE', KEYS[5], me) or 0)
      if t > old then redis.call('ZADD', KEYS[5], t, me) end
      redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', t - ww * 2)
      if redis.call('ZCARD', KEYS[5]) > 2000 then redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -2001) end
      redis.call('PEXPIRE', KEYS[5], ww * 2)
      local seen, stores = {}, {}
      for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], t - ww + 1, t + ww)) do
        local g, m, s = string.match(e, '^(%d+):(%d+):(.+)$')
        if m then
          if not seen[m] then seen[m] = true; wm = wm + 1 end
          if m == ARGV[4] then
            wg = wg + 1
            if not stores[s] then stores[s] = true; ws = ws + 1 end
          end
        end
      end
    end
    joined = tonumber(redis.call('GET', KEYS[6]) or 0)
  elseif kind == 'join' then
    local life = tonumber(ARGV[9])
    if life > 0 then redis.call('SET', KEYS[6], t, 'PX', life) end
    local jw = tonumber(ARGV[10])
    if jw > 0 then
      redis.call('ZADD', KEYS[7], t, ARGV[1])
      redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', t - jw * 2)
      redis.call('PEXPIRE', KEYS[7], jw * 2)
      if redis.call('ZCOUNT', KEYS[7], t - jw + 1, t) >= tonumber(ARGV[11]) then
        redis.call('SET', KEYS[8], t, 'PX', tonumber(ARGV[12]))
      end
    end
  end
  jwa = redis.call('EXISTS', KEYS[8])
  return {n, rep, wg, wm, joined, jwa, ws}
end

local out = {}
for e = 0, #KEYS / 9 - 1 do
  local k, v = {}, {}
  for i = 1, 9 do k[i] = KEYS[e * 9 + i] end
  for i = 1, 13 do v[i] = ARGV[e * 13 + i] end
  -- One event's trouble (a key of the wrong type) is its own.
  local ok, r = pcall(check, k, v)
  out[e + 1] = ok and r or redis.error_reply(type(r) == 'table' and r.err or tostring(r))
end
return out
