-- scoring_count: counting a batch of one group's events (scoring_count.c
-- runs it).
--
-- One call per batch (per group and batch on a Redis Cluster), not per
-- event: a script call's own cost (the call, the field table, the reply)
-- is then paid once for the batch's events. Every key carries the
-- group's hash tag, so on a cluster one call's keys share a slot. The
-- events are counted one after another in the order given, each exactly
-- as it would be alone. Counting is idempotent by message id: the id set
-- of the group-day answers "seen" and nothing else moves.
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
-- Aggregated per call, not per event: Redis's cost is mostly each
-- command and the Lua around it, not the event. A field is read at most
-- once per call and then kept here with this call's own changes (the
-- call is atomic: nothing else changes the keys meanwhile); what the
-- events change is written once per key and field at the end (flush):
-- one HINCRBY per counter, one HSET per hash, one SADD/PFADD per set,
-- one EXPIRE per key. The marks (ids) are read with one SMISMEMBER per
-- group-day and written last, after the counts, with one SADD: an event
-- whose counts could not be written is not marked, and is set aside.
--
-- Expiry is set when a key is created, not on every event. Day keys get
-- theirs with their first event; the group's long-lived keys (roster,
-- uids, state, board, channels, replies received) have it moved on by
-- the day's first event, and get EXPIRE NX whenever the call wrote them
-- (a write may have created the key: one made after the day's first
-- event would otherwise never expire).
--
-- An event whose day is older than the counter window (ARGV old = 1) is
-- not counted: its day's counters may already have expired, and counting
-- it would start them again from one event (the roll-up would then write
-- that over the day, and the member's totals would take it twice). It
-- answers the standing as a duplicate does, with new = 2.
-- An event that fails half-way (a key of the wrong type) is not marked
-- (it is set aside and can be replayed) and undoes its day count 'n'; the
-- counters it had already moved stay moved, so after the replay that one
-- event may count twice in them. A write that fails at the flush sets
-- aside, the same way, the events that wrote that key.
local F = {'first','jd','jt','jn','in','ch','mch','last','lt','days','streak','msgs','as','al','at','subs','ans',
  'vd','viol','staff','st','tl','lv','lu'}
local GS = {lm = 1, lt = 2, qm = 3, qt = 4, pt = 5}
local CHUNK = 1000            -- arguments per command at most (Lua's unpack has a limit)

local E = 0                   -- the event being counted, its index in the call
local H = {}                  -- H[key][field]: as read, then changed by this call (false: absent)
local INC = {}                -- INC[key][field]: increments to write
local SET = {}                -- SET[key][field]: values to write (false: delete)
local ADD = {}                -- ADD[key]: {cmd =, m = members…} to SADD or PFADD
local Z = {}                  -- Z[key][member]: ZINCRBY increments
local EXP = {}                -- EXP[key]: {ttl, nx}
local BY = {}                 -- BY[key]: the events that wrote key, in order
local M = {}                  -- M[key]: a member hash's fields, as read then changed
local gstates, actives = {}, {}
local moved = {}              -- moved[event]: it moved its day's count n
local MARK, NEW = {}, {}      -- MARK[ids key][id]: marked; NEW[ids key]: {id, event}… to mark
local FAILED = {}             -- FAILED[event]: the error that set it aside
local evs = {}                -- evs[event]: {its KEYS, its ARGV}

local function tbl(t, key) local v = t[key]; if not v then v = {}; t[key] = v end; return v end
local function wrote(key)
  local b = BY[key]
  if not b then BY[key] = {E} elseif b[#b] ~= E then b[#b + 1] = E end
end

local function hget(key, f)
  local h = tbl(H, key)
  local v = h[f]
  if v == nil then
    v = redis.call('HGET', key, f) or false
    local d = INC[key] and INC[key][f]
    if d then v = tonumber(v or 0) + d end
    h[f] = v
  end
  return v or nil
end
local function bump(key, f, by)
  local i = tbl(INC, key); i[f] = (i[f] or 0) + by; wrote(key)
  local h = H[key]
  if h and h[f] ~= nil then h[f] = tonumber(h[f] or 0) + by end
end
-- A counter moved by one, its value after.
local function incr(key, f) hget(key, f); bump(key, f, 1); return H[key][f] end
local function hset(key, f, v) tbl(SET, key)[f] = v; tbl(H, key)[f] = v; wrote(key) end
local function add(cmd, key, m)
  local a = ADD[key]
  if not a then a = {cmd = cmd, m = {}, has = {}}; ADD[key] = a end
  if not a.has[m] then a.has[m] = true; a.m[#a.m + 1] = m end
  wrote(key)
end
local function zincr(key, m) local z = tbl(Z, key); z[m] = (z[m] or 0) + 1; wrote(key) end
local function expire(key, ttl, nx)
  local x = EXP[key]
  if not x then EXP[key] = {ttl, nx} elseif not nx then x[1] = ttl; x[2] = false end
end
local function member(key)
  local m = M[key]
  if not m then
    local u = redis.call('HMGET', key, unpack(F))
    m = {}
    for i = 1, #F do m[F[i]] = u[i] end
    M[key] = m
  end
  return m
end
local function group_state(key)
  if not gstates[key] then gstates[key] = redis.call('HMGET', key, 'lm', 'lt', 'qm', 'qt', 'pt', 'state') end
  return gstates[key]
end
-- The day's active count: read before the call's first write to the key, then kept.
local function active(key)
  if not actives[key] then actives[key] = redis.call('HLEN', key) end
  return actives[key]
end

local function standing(KEYS, mid, new, cur)
  local res = {new, tonumber(hget(KEYS[4], mid) or 0), tonumber(hget(KEYS[2], 'msgs') or 0), active(KEYS[4]),
    group_state(KEYS[11])[6] or ''}
  for i = 1, #F do res[#res + 1] = cur[F[i]] or false end
  return res
end

-- Early leaves of a join cohort (channel c, join day jd), by how long the member stayed.
local function cohort(key, c, jd, stayed)
  if stayed < 7 * 86400 then bump(key, c .. ':l7:' .. jd, 1) end
  if stayed < 30 * 86400 then bump(key, c .. ':l30:' .. jd, 1) end
end

-- Joins and leaves of a member may arrive out of order (replicas, retries):
-- only the latest join sets jd/jt/ch, a join puts the member in only when
-- later than the last leave (lv), and a leave takes them out only when
-- at or after the latest join. A leave no join was known for (lu = 1)
-- is matched to the join that arrives late, for the cohort's retention.
local function join(KEYS, ARGV, cur, put, t, day)
  bump(KEYS[2], 'joins', 1)
  local c, jn = ARGV[13], tonumber(cur.jn or 0) + 1
  put('jn', jn)
  bump(KEYS[13], c .. ':joins', 1)
  bump(KEYS[13], c .. ':j:' .. day, 1)
  if not cur.jt or t >= tonumber(cur.jt) then
    put('jd', day); put('jt', t); put('ch', c)
    if not cur.lv or t > tonumber(cur.lv) then
      put('in', 1)
      if cur.lu == '1' then put('lu', 0) end
    elseif cur.lu == '1' then
      cohort(KEYS[13], c, day, tonumber(cur.lv) - t); put('lu', 0)
    end
  end
  if not cur.mch then
    put('mch', c)
    bump(KEYS[13], c .. ':mem', 1)
    if tonumber(cur.msgs or 0) > 0 then bump(KEYS[13], c .. ':act', 1) end
    if tonumber(cur.viol or 0) > 0 then bump(KEYS[13], c .. ':vm', 1) end
  end
end

local function leave(KEYS, cur, put, t)
  bump(KEYS[2], 'leaves', 1)
  if not cur.lv or t > tonumber(cur.lv) then put('lv', t) end
  if not cur.jt or t >= tonumber(cur.jt) then
    if cur['in'] == '1' and cur.jt and cur.ch then cohort(KEYS[13], cur.ch, cur.jd, t - tonumber(cur.jt))
    elseif cur['in'] ~= '0' or not cur.jt then put('lu', 1) end
    put('in', 0)
  end
end

-- Reply edges: a quote, a mention, or else an answer to the previous
-- speaker within the window; a question answered.
local function edge(KEYS, ARGV, a, field)
  if incr(KEYS[2], 'replies') == 1 then expire(KEYS[7], tonumber(ARGV[6])) end
  bump(KEYS[7], ARGV[3] .. '>' .. a, 1)
  bump(KEYS[14], field .. a, 1)
  zincr(KEYS[12], a)
end
local function replies(KEYS, ARGV, cur, put, gs, t)
  local mid, window = ARGV[3], tonumber(ARGV[16])
  local replied = false
  if ARGV[10] ~= '' then
    local a = hget(KEYS[5], ARGV[10]) or hget(KEYS[6], ARGV[10])
    if a and a ~= mid then edge(KEYS, ARGV, a, 'r:'); replied = true end
  end
  for i = 22, #ARGV do
    local a = hget(KEYS[10], ARGV[i])
    if a and a ~= mid then edge(KEYS, ARGV, a, 'n:'); replied = true end
  end
  if not replied and gs[1] and gs[1] ~= mid and t >= tonumber(gs[2] or 0) and t - tonumber(gs[2] or 0) <= window then
    edge(KEYS, ARGV, gs[1], 'r:')
  end
  if gs[3] and gs[3] ~= mid and t >= tonumber(gs[4] or 0) and t - tonumber(gs[4] or 0) <= window then
    put('ans', tonumber(cur.ans or 0) + 1)
    bump(KEYS[2], 'ans', 1)
    hset(KEYS[11], 'qm', false)
    gs[3] = false
  end
end

-- The group's last speaker, last question and last post.
local function group_moves(KEYS, ARGV, gs, t)
  local gset = {}
  if ARGV[18] == '1' then
    bump(KEYS[2], 'q', 1)
    gset[#gset + 1] = 'qm'; gset[#gset + 1] = ARGV[3]; gset[#gset + 1] = 'qt'; gset[#gset + 1] = ARGV[7]
  end
  if t >= tonumber(gs[2] or 0) then
    gset[#gset + 1] = 'lm'; gset[#gset + 1] = ARGV[3]; gset[#gset + 1] = 'lt'; gset[#gset + 1] = ARGV[7]
  end
  -- No last speaker: the state hash is new (or the evaluation's, which has its expiry).
  if not gs[1] then expire(KEYS[11], tonumber(ARGV[20]), true) end
  for i = 1, #gset, 2 do
    hset(KEYS[11], gset[i], gset[i + 1])
    gs[GS[gset[i]]] = gset[i + 1]
  end
end

local function message(KEYS, ARGV, cur, put, t, day)
  local mid, ttl = ARGV[3], tonumber(ARGV[6])
  if not cur['in'] then put('in', 1) end
  active(KEYS[4])
  local mm = incr(KEYS[4], mid)
  if mm == 1 then actives[KEYS[4]] = actives[KEYS[4]] + 1 end
  local gm = incr(KEYS[2], 'msgs')
  bump(KEYS[2], 'h' .. ARGV[4], 1)
  add('PFADD', KEYS[3], mid)
  hset(KEYS[5], ARGV[1], mid)
  if gm == 1 then
    expire(KEYS[3], ttl); expire(KEYS[4], ttl); expire(KEYS[5], 3 * 86400)
  end
  local last = tonumber(cur.last or -1)
  local touched = false
  if mm == 1 then
    touched = true
    put('days', tonumber(cur.days or 0) + 1)
    if day > last then put('streak', last == day - 1 and tonumber(cur.streak or 0) + 1 or 1) end
  end
  if day > last then put('last', day) end
  if t > tonumber(cur.lt or 0) then put('lt', t) end
  local msgs = tonumber(cur.msgs or 0) + 1
  put('msgs', msgs)
  if msgs == 1 and cur.mch then bump(KEYS[13], cur.mch .. ':act', 1) end
  -- Decay: a count halves every half-life; an event older than the
  -- last adds its own decayed weight, so the order of arrival does not matter.
  local at, as, al = tonumber(cur.at or t), tonumber(cur.as or 0), tonumber(cur.al or 0)
  local hs, hl = tonumber(ARGV[14]), tonumber(ARGV[15])
  if t >= at then
    as = as * 2 ^ (-(t - at) / hs) + 1; al = al * 2 ^ (-(t - at) / hl) + 1; at = t
  else
    as = as + 2 ^ (-(at - t) / hs); al = al + 2 ^ (-(at - t) / hl)
  end
  put('as', as); put('al', al); put('at', at)
  if ARGV[19] == '1' then put('subs', tonumber(cur.subs or 0) + 1) end
  if ARGV[11] == '1' then bump(KEYS[2], 'staff', 1) end
  local gs = group_state(KEYS[11])
  local pwin = tonumber(ARGV[17])
  if ARGV[12] == '1' then
    bump(KEYS[2], 'posts', 1)
    hset(KEYS[11], 'pt', ARGV[7]); gs[5] = ARGV[7]
  elseif ARGV[11] ~= '1' and gs[5] and t >= tonumber(gs[5]) and t - tonumber(gs[5]) <= pwin then
    bump(KEYS[2], 'resp', 1)
  end
  replies(KEYS, ARGV, cur, put, gs, t)
  group_moves(KEYS, ARGV, gs, t)
  return touched
end

-- The member hash being counted: put writes one of its fields.
local CUR, CURKEY
local function put(f, v) v = tostring(v); CUR[f] = v; hset(CURKEY, f, v) end

-- Count one event (its mark already taken); its standing after.
local function count(KEYS, ARGV)
  local mid, t, day, kind = ARGV[3], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[2]
  local ttl, mttl = tonumber(ARGV[6]), tonumber(ARGV[20])
  local first_of_day = incr(KEYS[2], 'n') == 1
  moved[E] = true
  local cur = member(KEYS[8])
  CUR, CURKEY = cur, KEYS[8]
  local touched = first_of_day
  if not cur.first or tonumber(cur.first) > day then
    if not cur.first then touched = true end
    put('first', day)
    add('SADD', KEYS[9], mid)
    if ARGV[9] ~= '' then hset(KEYS[10], ARGV[9], mid) end
  end
  if ARGV[11] == '1' and cur.staff ~= '1' then put('staff', 1) end
  if kind == 'join' then
    touched = true; join(KEYS, ARGV, cur, put, t, day)
  elseif kind == 'leave' then
    touched = true; leave(KEYS, cur, put, t)
  elseif kind == 'msg' then
    touched = message(KEYS, ARGV, cur, put, t, day) or touched
  end
  if ARGV[5] == '1' then
    bump(KEYS[2], 'viol', 1)
    local v = tonumber(cur.viol or 0) + 1
    -- A violation that arrives late does not move the last one back.
    put('viol', v)
    if not cur.vd or day > tonumber(cur.vd) then put('vd', day) end
    if cur.mch then
      bump(KEYS[13], cur.mch .. ':viol', 1)
      if v == 1 then bump(KEYS[13], cur.mch .. ':vm', 1) end
    end
  end
  -- A member's hash lives on while they are active: its expiry moves on
  -- with their first message of a day, a join or a leave.
  if touched then expire(KEYS[8], mttl) end
  -- Keys of the group as a whole live while the group has events: their
  -- expiry moves on with the first event of each day.
  if first_of_day then
    expire(KEYS[1], ttl); expire(KEYS[2], ttl)
    for i = 9, 14 do expire(KEYS[i], mttl) end
  else
    -- Once per key and call, written or not: NX leaves a key's expiry
    -- alone, and a key that does not exist takes none.
    for i = 9, 14 do if i ~= 11 and not EXP[KEYS[i]] then expire(KEYS[i], mttl, true) end end
  end
  return standing(KEYS, mid, 1, cur)
end

-- Run a command with its arguments in chunks of CHUNK (head: the
-- command and key; args: the rest, whole pairs when pairs is 2).
local function chunked(head, args, pairs_of)
  for i = 1, #args, CHUNK * pairs_of do
    local a = {unpack(head)}
    for j = i, math.min(#args, i + CHUNK * pairs_of - 1) do a[#a + 1] = args[j] end
    local r = redis.pcall(unpack(a))
    if type(r) == 'table' and r.err then return r.err end
  end
end

-- A write that failed: the events that wrote the key are set aside (not
-- marked: each can be replayed).
local function fail(key, err)
  for _, e in ipairs(BY[key] or {}) do FAILED[e] = FAILED[e] or err end
end

-- Write what the events changed: counters, fields, sets, the board.
local function flush()
  for key, fs in pairs(INC) do
    for f, by in pairs(fs) do
      if by ~= 0 then
        local r = redis.pcall('HINCRBY', key, f, by)
        if type(r) == 'table' and r.err then fail(key, r.err) end
      end
    end
  end
  for key, fs in pairs(SET) do
    local set, del = {}, {}
    for f, v in pairs(fs) do
      if v then set[#set + 1] = f; set[#set + 1] = v else del[#del + 1] = f end
    end
    local err = (#set > 0 and chunked({'HSET', key}, set, 2)) or (#del > 0 and chunked({'HDEL', key}, del, 1))
    if err then fail(key, err) end
  end
  for key, a in pairs(ADD) do
    local err = chunked({a.cmd, key}, a.m, 1)
    if err then fail(key, err) end
  end
  for key, z in pairs(Z) do
    for m, by in pairs(z) do
      local r = redis.pcall('ZINCRBY', key, by, m)
      if type(r) == 'table' and r.err then fail(key, r.err) end
    end
  end
end

-- The events of the call: their keys and arguments.
local a = 1
for e = 1, #KEYS / 14 do
  local k, v = {}, {}
  for i = 1, 14 do k[i] = KEYS[(e - 1) * 14 + i] end
  local n = tonumber(ARGV[a])
  for i = 1, n do v[i] = ARGV[a + i] end
  a = a + n + 1
  evs[e] = {k, v}
end

-- The marks already taken: one SMISMEMBER per ids key.
local ask = {}
for e = 1, #evs do
  local k, v = evs[e][1], evs[e][2]
  if v[21] ~= '1' then local q = tbl(ask, k[1]); q[#q + 1] = v[1] end
end
local BAD = {}                -- BAD[ids key]: why its marks could not be read
for key, ids in pairs(ask) do
  local m = tbl(MARK, key)
  for i = 1, #ids, CHUNK do
    local part = {unpack(ids, i, math.min(#ids, i + CHUNK - 1))}
    local r = redis.pcall('SMISMEMBER', key, unpack(part))
    if r.err then BAD[key] = r.err; break end
    for j = 1, #part do if r[j] == 1 then m[part[j]] = true end end
  end
end

local function err_of(r) return type(r) == 'table' and r.err or tostring(r) end
local function seen(k, v, new) return standing(k, v[3], new, member(k[8])) end

-- Each event in order, as it would be alone. One event's trouble (a key
-- of the wrong type) sets that event aside, not the events after it.
local out = {}
for e = 1, #evs do
  E = e
  local k, v = evs[e][1], evs[e][2]
  local ok, r
  if v[21] ~= '1' and BAD[k[1]] then
    ok, r = false, BAD[k[1]]
  elseif v[21] == '1' then
    ok, r = pcall(seen, k, v, 2)
  elseif MARK[k[1]][v[1]] then
    ok, r = pcall(seen, k, v, 0)
  else
    MARK[k[1]][v[1]] = true
    local q = tbl(NEW, k[1]); q[#q + 1] = e
    ok, r = pcall(count, k, v)
    if not ok then MARK[k[1]][v[1]] = nil end
  end
  if ok then out[e] = r else FAILED[e] = err_of(r) end
end

flush()

-- The marks, last: only the events whose counts were written.
for key, q in pairs(NEW) do
  local ids = {}
  for _, e in ipairs(q) do if not FAILED[e] then ids[#ids + 1] = evs[e][2][1] end end
  if #ids > 0 then
    local err = chunked({'SADD', key}, ids, 1)
    if err then for _, e in ipairs(q) do FAILED[e] = FAILED[e] or err end end
  end
end

-- An event set aside after it moved the day's count: the replay must see
-- the day's first event as the first again (its keys get their expiry
-- then), and what the failed run created must expire even if no replay comes.
for e in pairs(FAILED) do
  local k, v = evs[e][1], evs[e][2]
  if moved[e] then redis.pcall('HINCRBY', k[2], 'n', -1) end
  local ttl, mttl = tonumber(v[6]), tonumber(v[20])
  for i = 1, 4 do expire(k[i], ttl, true) end
  expire(k[5], 3 * 86400, true)
  expire(k[7], ttl, true)
  for i = 8, 14 do expire(k[i], mttl, true) end
  out[e] = redis.error_reply(FAILED[e])
end

for key, x in pairs(EXP) do
  if x[2] then redis.pcall('EXPIRE', key, x[1], 'NX') else redis.pcall('EXPIRE', key, x[1]) end
end
return out
