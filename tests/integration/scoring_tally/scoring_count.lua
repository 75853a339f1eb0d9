-- scoring_count: counting a batch of one group's events (scoring_count.c
-- runs it).
--
-- One call per batch (per group and batch on a Redis Cluster), not per
-- event: a script call's own cost (the call, the field table, the reply)
-- is then paid once for the batch's events. Every key carries the
-- group's hash tag, so on a cluster one call's keys share a slot. The events are counted one
-- after another in the order given, each exactly as it would be alone.
-- Counting is idempotent by message id: the id set of the group-day
-- answers "seen" and nothing else moves.
--
-- KEYS  per event, 14 each: 1 ids  2 group-day  3 active HLL  4 member-day
--       5 authors today  6 authors yesterday  7 edges  8 member  9 roster
--       10 uids  11 group state  12 board  13 channels  14 replies received
-- ARGV  per event: how many arguments follow for it, then SCORING_ARGV_*
--       of scoring.h (1-based here), then the mentions.
-- Reply one per event, in order: {new, member msgs today, group msgs
--       today, active today, group state, SCORING_FIELDS… as they are
--       after the event}, or an error (that event is set aside).
--
-- Inside count() below, KEYS and ARGV are one event's.
--
-- Expiry is set when a key is created, not on every event: it keeps the
-- script near a dozen calls per message. Day keys are created by their
-- first counter reaching 1; the group's long-lived keys (roster, uids,
-- state, board, channels, replies received) get their expiry moved on by
-- the day's first event, and EXPIRE NX whenever a write added a field
-- (a new field may be a new key: one made after the day's first event
-- would otherwise never expire).
--
-- An event whose day is older than the counter window (ARGV old = 1) is
-- not counted: its day's counters may already have expired, and counting
-- it would start them again from one event (the roll-up would then write
-- that over the day, and the member's totals would take it twice). It
-- answers the standing as a duplicate does, with new = 2.
-- A command that fails half-way un-marks the id (the event is set aside
-- and can be replayed) and gives the keys it created their expiry; the
-- counters it had already moved for that event stay moved, so after the
-- replay that one event may count twice in them.
local F = {'first','jd','jt','jn','in','ch','mch','last','lt','days','streak','msgs','as','al','at','subs','ans',
  'vd','viol','staff','st','tl','lv','lu'}
-- What this call has read of each group's state hash and each day's
-- active count, kept up to date with its own writes: the call is atomic,
-- so nothing else changes them meanwhile, and a group's events after
-- its first need not read them again.
local GS = {lm = 1, lt = 2, qm = 3, qt = 4, pt = 5}
local gstates, actives = {}, {}
local function group_state(key)
  if not gstates[key] then gstates[key] = redis.call('HMGET', key, 'lm', 'lt', 'qm', 'qt', 'pt', 'state') end
  return gstates[key]
end
local function active(key)
  if not actives[key] then actives[key] = redis.call('HLEN', key) end
  return actives[key]
end

local function count(KEYS, ARGV)
  local mid = ARGV[3]
  local function standing(new)
    local f = redis.call('HMGET', KEYS[8], unpack(F))
    return {new, tonumber(redis.call('HGET', KEYS[4], mid) or 0), tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0),
      active(KEYS[4]), group_state(KEYS[11])[6] or '', unpack(f)}
  end
  if ARGV[21] == '1' then return standing(2) end
  if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return standing(0) end
  -- A command failing half-way (a key of the wrong type) leaves what was
  -- written so far; the id must not stay counted, or a replay of the
  -- dead letter would find it "seen" and count nothing.
  local ttl, mttl = tonumber(ARGV[6]), tonumber(ARGV[20])
  local moved_n = false
  local ok, out = pcall(function()
  local t, day, kind = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[2]
  local first_of_day = redis.call('HINCRBY', KEYS[2], 'n', 1) == 1
  moved_n = true
  local u = redis.call('HMGET', KEYS[8], unpack(F))
  local cur = {}
  for i = 1, #F do cur[F[i]] = u[i] end
  local set = {}
  local function put(f, v) v = tostring(v); set[#set + 1] = f; set[#set + 1] = v; cur[f] = v end
  local function num(v) return tonumber(v or 0) end
  local touched = first_of_day
  -- Group keys a write added a field to (maybe created): EXPIRE NX below.
  local fresh = {}
  local function grew(i, v) if v == 1 then fresh[i] = true end return v end
  -- Early leaves of a join cohort (channel c, join day jd), by how long the member stayed.
  local function cohort(c, jd, stayed)
    if stayed < 7 * 86400 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':l7:' .. jd, 1)) end
    if stayed < 30 * 86400 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':l30:' .. jd, 1)) end
  end
  if not cur.first or num(cur.first) > day then
    if not cur.first then touched = true end
    put('first', day)
    grew(9, redis.call('SADD', KEYS[9], mid))
    if ARGV[9] ~= '' then grew(10, redis.call('HSET', KEYS[10], ARGV[9], mid)) end
  end
  if ARGV[11] == '1' and cur.staff ~= '1' then put('staff', 1) end
  local mch = cur.mch
  local mm, gm, gst
  -- Joins and leaves of a member may arrive out of order (replicas, retries):
  -- only the latest join sets jd/jt/ch, a join puts the member in only when
  -- later than the last leave (lv), and a leave takes them out only when
  -- at or after the latest join. A leave no join was known for (lu = 1)
  -- is matched to the join that arrives late, for the cohort's retention.
  if kind == 'join' then
    touched = true
    redis.call('HINCRBY', KEYS[2], 'joins', 1)
    local c, jn = ARGV[13], num(cur.jn) + 1
    put('jn', jn)
    grew(13, redis.call('HINCRBY', KEYS[13], c .. ':joins', 1))
    grew(13, redis.call('HINCRBY', KEYS[13], c .. ':j:' .. day, 1))
    if not cur.jt or t >= num(cur.jt) then
      put('jd', day); put('jt', t); put('ch', c)
      if not cur.lv or t > num(cur.lv) then
        put('in', 1)
        if cur.lu == '1' then put('lu', 0) end
      elseif cur.lu == '1' then
        cohort(c, day, num(cur.lv) - t); put('lu', 0)
      end
    end
    if not mch then
      mch = c
      put('mch', c)
      grew(13, redis.call('HINCRBY', KEYS[13], c .. ':mem', 1))
      if num(cur.msgs) > 0 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':act', 1)) end
      if num(cur.viol) > 0 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':vm', 1)) end
    end
  elseif kind == 'leave' then
    touched = true
    redis.call('HINCRBY', KEYS[2], 'leaves', 1)
    if not cur.lv or t > num(cur.lv) then put('lv', t) end
    if not cur.jt or t >= num(cur.jt) then
      if cur['in'] == '1' and cur.jt and cur.ch then cohort(cur.ch, cur.jd, t - num(cur.jt))
      elseif cur['in'] ~= '0' or not cur.jt then put('lu', 1) end
      put('in', 0)
    end
  elseif kind == 'msg' then
    if not cur['in'] then put('in', 1) end
    mm = redis.call('HINCRBY', KEYS[4], mid, 1)
    if mm == 1 and actives[KEYS[4]] then actives[KEYS[4]] = actives[KEYS[4]] + 1 end
    gm = redis.call('HINCRBY', KEYS[2], 'msgs', 1)
    redis.call('HINCRBY', KEYS[2], 'h' .. ARGV[4], 1)
    redis.call('PFADD', KEYS[3], mid)
    redis.call('HSET', KEYS[5], ARGV[1], mid)
    if gm == 1 then
      redis.call('EXPIRE', KEYS[3], ttl)
      redis.call('EXPIRE', KEYS[4], ttl)
      redis.call('EXPIRE', KEYS[5], 3 * 86400)
    end
    local last = tonumber(cur.last or -1)
    if mm == 1 then
      touched = true
      put('days', num(cur.days) + 1)
      if day > last then put('streak', last == day - 1 and num(cur.streak) + 1 or 1) end
    end
    if day > last then put('last', day) end
    if t > num(cur.lt) then put('lt', t) end
    local msgs = num(cur.msgs) + 1
    put('msgs', msgs)
    if msgs == 1 and mch then grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':act', 1)) end
    -- Decay: a count halves every half-life; an event older than the
    -- last adds its own decayed weight, so the order of arrival does not matter.
    local at, as, al = tonumber(cur.at or t), num(cur.as), num(cur.al)
    local hs, hl = tonumber(ARGV[14]), tonumber(ARGV[15])
    if t >= at then
      as = as * 2 ^ (-(t - at) / hs) + 1; al = al * 2 ^ (-(t - at) / hl) + 1; at = t
    else
      as = as + 2 ^ (-(at - t) / hs); al = al + 2 ^ (-(at - t) / hl)
    end
    put('as', as); put('al', al); put('at', at)
    if ARGV[19] == '1' then put('subs', num(cur.subs) + 1) end
    if ARGV[11] == '1' then redis.call('HINCRBY', KEYS[2], 'staff', 1) end
    local gs = group_state(KEYS[11])
    gst = gs[6]
    local gset = {}
    local window, pwin = tonumber(ARGV[16]), tonumber(ARGV[17])
    if ARGV[12] == '1' then
      redis.call('HINCRBY', KEYS[2], 'posts', 1)
      gset[#gset + 1] = 'pt'; gset[#gset + 1] = ARGV[7]
    elseif ARGV[11] ~= '1' and gs[5] and t >= num(gs[5]) and t - num(gs[5]) <= pwin then
      redis.call('HINCRBY', KEYS[2], 'resp', 1)
    end
    -- Reply edges: a quote, a mention, or else an answer to the previous
    -- speaker within the window.
    local function edge(a, field)
      if redis.call('HINCRBY', KEYS[2], 'replies', 1) == 1 then redis.call('EXPIRE', KEYS[7], ttl) end
      redis.call('HINCRBY', KEYS[7], mid .. '>' .. a, 1)
      grew(14, redis.call('HINCRBY', KEYS[14], field .. a, 1))
      grew(12, tonumber(redis.call('ZINCRBY', KEYS[12], 1, a)))
    end
    local replied = false
    if ARGV[10] ~= '' then
      local a = redis.call('HGET', KEYS[5], ARGV[10]) or redis.call('HGET', KEYS[6], ARGV[10])
      if a and a ~= mid then edge(a, 'r:'); replied = true end
    end
    for i = 22, #ARGV do
      local a = redis.call('HGET', KEYS[10], ARGV[i])
      if a and a ~= mid then edge(a, 'n:'); replied = true end
    end
    if not replied and gs[1] and gs[1] ~= mid and t >= num(gs[2]) and t - num(gs[2]) <= window then
      edge(gs[1], 'r:')
    end
    if gs[3] and gs[3] ~= mid and t >= num(gs[4]) and t - num(gs[4]) <= window then
      put('ans', num(cur.ans) + 1)
      redis.call('HINCRBY', KEYS[2], 'ans', 1)
      redis.call('HDEL', KEYS[11], 'qm')
      gs[3] = false
    end
    if ARGV[18] == '1' then
      redis.call('HINCRBY', KEYS[2], 'q', 1)
      gset[#gset + 1] = 'qm'; gset[#gset + 1] = mid; gset[#gset + 1] = 'qt'; gset[#gset + 1] = ARGV[7]
    end
    if t >= num(gs[2]) then
      gset[#gset + 1] = 'lm'; gset[#gset + 1] = mid; gset[#gset + 1] = 'lt'; gset[#gset + 1] = ARGV[7]
    end
    -- No last speaker: the state hash is new (or the evaluation's, which has its expiry).
    if not gs[1] then fresh[11] = true end
    if #gset > 0 then
      redis.call('HSET', KEYS[11], unpack(gset))
      for i = 1, #gset, 2 do gs[GS[gset[i]]] = gset[i + 1] end
    end
  end
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[2], 'viol', 1)
    local v = num(cur.viol) + 1
    -- A violation that arrives late does not move the last one back.
    put('viol', v)
    if not cur.vd or day > num(cur.vd) then put('vd', day) end
    if mch then
      grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':viol', 1))
      if v == 1 then grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':vm', 1)) end
    end
  end
  if #set > 0 then redis.call('HSET', KEYS[8], unpack(set)) end
  -- A member's hash lives on while they are active: its expiry moves on
  -- with their first message of a day, a join or a leave.
  if touched then redis.call('EXPIRE', KEYS[8], mttl) end
  -- Keys of the group as a whole live while the group has events: their
  -- expiry moves on with the first event of each day.
  if first_of_day then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', KEYS[2], ttl)
    for i = 9, 14 do redis.call('EXPIRE', KEYS[i], mttl) end
  else
    for i in pairs(fresh) do redis.call('EXPIRE', KEYS[i], mttl, 'NX') end
  end
  if not mm then
    mm = tonumber(redis.call('HGET', KEYS[4], mid) or 0)
    gm = tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0)
    gst = group_state(KEYS[11])[6]
  end
  local res = {1, mm, gm, active(KEYS[4]), gst or ''}
  for i = 1, #F do res[#res + 1] = cur[F[i]] or false end
  return res
  end)
  if ok then return out end
  redis.call('SREM', KEYS[1], ARGV[1])
  -- The replay must see the day's first event as the first again (its
  -- keys get their expiry then), and what the failed run created must
  -- expire even if no replay comes.
  if moved_n then redis.pcall('HINCRBY', KEYS[2], 'n', -1) end
  for i = 1, 4 do redis.pcall('EXPIRE', KEYS[i], ttl, 'NX') end
  redis.pcall('EXPIRE', KEYS[5], 3 * 86400, 'NX')
  redis.pcall('EXPIRE', KEYS[7], ttl, 'NX')
  for i = 8, 14 do redis.pcall('EXPIRE', KEYS[i], mttl, 'NX') end
  return redis.error_reply(type(out) == 'table' and out.err or tostring(out))
end

local out, a = {}, 1
for e = 0, #KEYS / 14 - 1 do
  local k, v = {}, {}
  for i = 1, 14 do k[i] = KEYS[e * 14 + i] end
  local n = tonumber(ARGV[a])
  for i = 1, n do v[i] = ARGV[a + i] end
  a = a + n + 1
  -- One event's trouble (outside count's own pcall: a key of the wrong
  -- type read for a duplicate's standing) sets that event aside, not the
  -- events after it.
  local ok, r = pcall(count, k, v)
  out[e + 1] = ok and r or redis.error_reply(type(r) == 'table' and r.err or tostring(r))
end
return out
