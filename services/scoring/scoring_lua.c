//  The one script every event runs (pipelined per batch, so a batch costs
//  one round trip). Counting is idempotent by message id: the id set of
//  the group-day answers "seen" and nothing else moves.
//
//  KEYS  1 ids  2 group-day  3 active HLL  4 member-day  5 authors today
//        6 authors yesterday  7 edges  8 member  9 roster  10 uids
//        11 group state  12 board  13 channels  14 replies received
//  ARGV  see SCORING_ARGV_* in scoring.h (1-based here), then mentions.
//  Reply {new, member msgs today, group msgs today, active today, group
//        state, SCORING_FIELDS… as they are after the event}
//
//  Expiry is set when a key is created, not on every event: it keeps the
//  script near a dozen calls per message. Day keys are created by their
//  first counter reaching 1; the group's long-lived keys (roster, uids,
//  state, board, channels, replies received) get their expiry moved on by
//  the day's first event, and EXPIRE NX whenever a write added a field
//  (a new field may be a new key: one made after the day's first event
//  would otherwise never expire).
//
//  An event whose day is older than the counter window (ARGV old = 1) is
//  not counted: its day's counters may already have expired, and counting
//  it would start them again from one event (the roll-up would then write
//  that over the day, and the member's totals would take it twice). It
//  answers the standing as a duplicate does, with new = 2.
//  A command that fails half-way un-marks the id (the event is set aside
//  and can be replayed) and gives the keys it created their expiry; the
//  counters it had already moved for that event stay moved, so after the
//  replay that one event may count twice in them.
#include "scoring.h"

const char *const scoring_field_names [SCORING_F__COUNT] = {
#define S_NAME(f) #f,
    SCORING_FIELDS (S_NAME)
#undef S_NAME
};

const char *scoring_count_lua =
    "local F = {'first','jd','jt','jn','in','ch','mch','last','lt','days','streak','msgs','as','al','at','subs','ans',\n"
    "  'vd','viol','staff','st','tl','lv','lu'}\n"
    "local mid = ARGV[3]\n"
    "local function standing(new)\n"
    "  local f = redis.call('HMGET', KEYS[8], unpack(F))\n"
    "  return {new, tonumber(redis.call('HGET', KEYS[4], mid) or 0), tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0),\n"
    "    redis.call('HLEN', KEYS[4]), redis.call('HGET', KEYS[11], 'state') or '', unpack(f)}\n"
    "end\n"
    "if ARGV[21] == '1' then return standing(2) end\n"
    "if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return standing(0) end\n"
    //  A command failing half-way (a key of the wrong type) leaves what was
    //  written so far; the id must not stay counted, or a replay of the
    //  dead letter would find it "seen" and count nothing.
    "local ttl, mttl = tonumber(ARGV[6]), tonumber(ARGV[20])\n"
    "local moved_n = false\n"
    "local ok, out = pcall(function()\n"
    "local t, day, kind = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[2]\n"
    "local first_of_day = redis.call('HINCRBY', KEYS[2], 'n', 1) == 1\n"
    "moved_n = true\n"
    "local u = redis.call('HMGET', KEYS[8], unpack(F))\n"
    "local cur = {}\n"
    "for i = 1, #F do cur[F[i]] = u[i] end\n"
    "local set = {}\n"
    "local function put(f, v) v = tostring(v); set[#set + 1] = f; set[#set + 1] = v; cur[f] = v end\n"
    "local function num(v) return tonumber(v or 0) end\n"
    "local touched = first_of_day\n"
    //  Group keys a write added a field to (maybe created): EXPIRE NX below.
    "local fresh = {}\n"
    "local function grew(i, v) if v == 1 then fresh[i] = true end return v end\n"
    //  Early leaves of a join cohort (channel c, join day jd), by how long the member stayed.
    "local function cohort(c, jd, stayed)\n"
    "  if stayed < 7 * 86400 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':l7:' .. jd, 1)) end\n"
    "  if stayed < 30 * 86400 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':l30:' .. jd, 1)) end\n"
    "end\n"
    "if not cur.first or num(cur.first) > day then\n"
    "  if not cur.first then touched = true end\n"
    "  put('first', day)\n"
    "  grew(9, redis.call('SADD', KEYS[9], mid))\n"
    "  if ARGV[9] ~= '' then grew(10, redis.call('HSET', KEYS[10], ARGV[9], mid)) end\n"
    "end\n"
    "if ARGV[11] == '1' and cur.staff ~= '1' then put('staff', 1) end\n"
    "local mch = cur.mch\n"
    "local mm, gm, gst\n"
    //  Joins and leaves of a member may arrive out of order (replicas, retries):
    //  only the latest join sets jd/jt/ch, a join puts the member in only when
    //  later than the last leave (lv), and a leave takes them out only when
    //  at or after the latest join. A leave no join was known for (lu = 1)
    //  is matched to the join that arrives late, for the cohort's retention.
    "if kind == 'join' then\n"
    "  touched = true\n"
    "  redis.call('HINCRBY', KEYS[2], 'joins', 1)\n"
    "  local c, jn = ARGV[13], num(cur.jn) + 1\n"
    "  put('jn', jn)\n"
    "  grew(13, redis.call('HINCRBY', KEYS[13], c .. ':joins', 1))\n"
    "  grew(13, redis.call('HINCRBY', KEYS[13], c .. ':j:' .. day, 1))\n"
    "  if not cur.jt or t >= num(cur.jt) then\n"
    "    put('jd', day); put('jt', t); put('ch', c)\n"
    "    if not cur.lv or t > num(cur.lv) then\n"
    "      put('in', 1)\n"
    "      if cur.lu == '1' then put('lu', 0) end\n"
    "    elseif cur.lu == '1' then\n"
    "      cohort(c, day, num(cur.lv) - t); put('lu', 0)\n"
    "    end\n"
    "  end\n"
    "  if not mch then\n"
    "    mch = c\n"
    "    put('mch', c)\n"
    "    grew(13, redis.call('HINCRBY', KEYS[13], c .. ':mem', 1))\n"
    "    if num(cur.msgs) > 0 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':act', 1)) end\n"
    "    if num(cur.viol) > 0 then grew(13, redis.call('HINCRBY', KEYS[13], c .. ':vm', 1)) end\n"
    "  end\n"
    "elseif kind == 'leave' then\n"
    "  touched = true\n"
    "  redis.call('HINCRBY', KEYS[2], 'leaves', 1)\n"
    "  if not cur.lv or t > num(cur.lv) then put('lv', t) end\n"
    "  if not cur.jt or t >= num(cur.jt) then\n"
    "    if cur['in'] == '1' and cur.jt and cur.ch then cohort(cur.ch, cur.jd, t - num(cur.jt))\n"
    "    elseif cur['in'] ~= '0' or not cur.jt then put('lu', 1) end\n"
    "    put('in', 0)\n"
    "  end\n"
    "elseif kind == 'msg' then\n"
    "  if not cur['in'] then put('in', 1) end\n"
    "  mm = redis.call('HINCRBY', KEYS[4], mid, 1)\n"
    "  gm = redis.call('HINCRBY', KEYS[2], 'msgs', 1)\n"
    "  redis.call('HINCRBY', KEYS[2], 'h' .. ARGV[4], 1)\n"
    "  redis.call('PFADD', KEYS[3], mid)\n"
    "  redis.call('HSET', KEYS[5], ARGV[1], mid)\n"
    "  if gm == 1 then\n"
    "    redis.call('EXPIRE', KEYS[3], ttl)\n"
    "    redis.call('EXPIRE', KEYS[4], ttl)\n"
    "    redis.call('EXPIRE', KEYS[5], 3 * 86400)\n"
    "  end\n"
    "  local last = tonumber(cur.last or -1)\n"
    "  if mm == 1 then\n"
    "    touched = true\n"
    "    put('days', num(cur.days) + 1)\n"
    "    if day > last then put('streak', last == day - 1 and num(cur.streak) + 1 or 1) end\n"
    "  end\n"
    "  if day > last then put('last', day) end\n"
    "  if t > num(cur.lt) then put('lt', t) end\n"
    "  local msgs = num(cur.msgs) + 1\n"
    "  put('msgs', msgs)\n"
    "  if msgs == 1 and mch then grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':act', 1)) end\n"
    //  Decay: a count halves every half-life; an event older than the
    //  last adds its own decayed weight, so the order of arrival does not matter.
    "  local at, as, al = tonumber(cur.at or t), num(cur.as), num(cur.al)\n"
    "  local hs, hl = tonumber(ARGV[14]), tonumber(ARGV[15])\n"
    "  if t >= at then\n"
    "    as = as * 2 ^ (-(t - at) / hs) + 1; al = al * 2 ^ (-(t - at) / hl) + 1; at = t\n"
    "  else\n"
    "    as = as + 2 ^ (-(at - t) / hs); al = al + 2 ^ (-(at - t) / hl)\n"
    "  end\n"
    "  put('as', as); put('al', al); put('at', at)\n"
    "  if ARGV[19] == '1' then put('subs', num(cur.subs) + 1) end\n"
    "  if ARGV[11] == '1' then redis.call('HINCRBY', KEYS[2], 'staff', 1) end\n"
    "  local gs = redis.call('HMGET', KEYS[11], 'lm', 'lt', 'qm', 'qt', 'pt', 'state')\n"
    "  gst = gs[6]\n"
    "  local gset = {}\n"
    "  local window, pwin = tonumber(ARGV[16]), tonumber(ARGV[17])\n"
    "  if ARGV[12] == '1' then\n"
    "    redis.call('HINCRBY', KEYS[2], 'posts', 1)\n"
    "    gset[#gset + 1] = 'pt'; gset[#gset + 1] = ARGV[7]\n"
    "  elseif ARGV[11] ~= '1' and gs[5] and t >= num(gs[5]) and t - num(gs[5]) <= pwin then\n"
    "    redis.call('HINCRBY', KEYS[2], 'resp', 1)\n"
    "  end\n"
    //  Reply edges: a quote, a mention, or else an answer to the previous
    //  speaker within the window.
    "  local function edge(a, field)\n"
    "    if redis.call('HINCRBY', KEYS[2], 'replies', 1) == 1 then redis.call('EXPIRE', KEYS[7], ttl) end\n"
    "    redis.call('HINCRBY', KEYS[7], mid .. '>' .. a, 1)\n"
    "    grew(14, redis.call('HINCRBY', KEYS[14], field .. a, 1))\n"
    "    grew(12, tonumber(redis.call('ZINCRBY', KEYS[12], 1, a)))\n"
    "  end\n"
    "  local replied = false\n"
    "  if ARGV[10] ~= '' then\n"
    "    local a = redis.call('HGET', KEYS[5], ARGV[10]) or redis.call('HGET', KEYS[6], ARGV[10])\n"
    "    if a and a ~= mid then edge(a, 'r:'); replied = true end\n"
    "  end\n"
    "  for i = 22, #ARGV do\n"
    "    local a = redis.call('HGET', KEYS[10], ARGV[i])\n"
    "    if a and a ~= mid then edge(a, 'n:'); replied = true end\n"
    "  end\n"
    "  if not replied and gs[1] and gs[1] ~= mid and t >= num(gs[2]) and t - num(gs[2]) <= window then\n"
    "    edge(gs[1], 'r:')\n"
    "  end\n"
    "  if gs[3] and gs[3] ~= mid and t >= num(gs[4]) and t - num(gs[4]) <= window then\n"
    "    put('ans', num(cur.ans) + 1)\n"
    "    redis.call('HINCRBY', KEYS[2], 'ans', 1)\n"
    "    redis.call('HDEL', KEYS[11], 'qm')\n"
    "  end\n"
    "  if ARGV[18] == '1' then\n"
    "    redis.call('HINCRBY', KEYS[2], 'q', 1)\n"
    "    gset[#gset + 1] = 'qm'; gset[#gset + 1] = mid; gset[#gset + 1] = 'qt'; gset[#gset + 1] = ARGV[7]\n"
    "  end\n"
    "  if t >= num(gs[2]) then\n"
    "    gset[#gset + 1] = 'lm'; gset[#gset + 1] = mid; gset[#gset + 1] = 'lt'; gset[#gset + 1] = ARGV[7]\n"
    "  end\n"
    //  No last speaker: the state hash is new (or the evaluation's, which has its expiry).
    "  if not gs[1] then fresh[11] = true end\n"
    "  if #gset > 0 then redis.call('HSET', KEYS[11], unpack(gset)) end\n"
    "end\n"
    "if ARGV[5] == '1' then\n"
    "  redis.call('HINCRBY', KEYS[2], 'viol', 1)\n"
    "  local v = num(cur.viol) + 1\n"
    //  A violation that arrives late does not move the last one back.
    "  put('viol', v)\n"
    "  if not cur.vd or day > num(cur.vd) then put('vd', day) end\n"
    "  if mch then\n"
    "    grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':viol', 1))\n"
    "    if v == 1 then grew(13, redis.call('HINCRBY', KEYS[13], mch .. ':vm', 1)) end\n"
    "  end\n"
    "end\n"
    "if #set > 0 then redis.call('HSET', KEYS[8], unpack(set)) end\n"
    //  A member's hash lives on while they are active: its expiry moves on
    //  with their first message of a day, a join or a leave.
    "if touched then redis.call('EXPIRE', KEYS[8], mttl) end\n"
    //  Keys of the group as a whole live while the group has events: their
    //  expiry moves on with the first event of each day.
    "if first_of_day then\n"
    "  redis.call('EXPIRE', KEYS[1], ttl)\n"
    "  redis.call('EXPIRE', KEYS[2], ttl)\n"
    "  for i = 9, 14 do redis.call('EXPIRE', KEYS[i], mttl) end\n"
    "else\n"
    "  for i in pairs(fresh) do redis.call('EXPIRE', KEYS[i], mttl, 'NX') end\n"
    "end\n"
    "if not mm then\n"
    "  mm = tonumber(redis.call('HGET', KEYS[4], mid) or 0)\n"
    "  gm = tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0)\n"
    "  gst = redis.call('HGET', KEYS[11], 'state')\n"
    "end\n"
    "local res = {1, mm, gm, redis.call('HLEN', KEYS[4]), gst or ''}\n"
    "for i = 1, #F do res[#res + 1] = cur[F[i]] or false end\n"
    "return res\n"
    "end)\n"
    "if ok then return out end\n"
    "redis.call('SREM', KEYS[1], ARGV[1])\n"
    //  The replay must see the day's first event as the first again (its
    //  keys get their expiry then), and what the failed run created must
    //  expire even if no replay comes.
    "if moved_n then redis.pcall('HINCRBY', KEYS[2], 'n', -1) end\n"
    "for i = 1, 4 do redis.pcall('EXPIRE', KEYS[i], ttl, 'NX') end\n"
    "redis.pcall('EXPIRE', KEYS[5], 3 * 86400, 'NX')\n"
    "redis.pcall('EXPIRE', KEYS[7], ttl, 'NX')\n"
    "for i = 8, 14 do redis.pcall('EXPIRE', KEYS[i], mttl, 'NX') end\n"
    "return redis.error_reply(type(out) == 'table' and out.err or tostring(out))\n";

//  Folding a group's channel cohorts: the join cohorts of days before
//  ARGV[1] (older than 30 days: judged for both 7- and 30-day retention)
//  are added into running totals per channel, C:m7 C:r7 C:m30 C:r30
//  (joins matured, joins retained), and their fields deleted, so the hash
//  keeps about a month of cohorts instead of growing with every day. All
//  sums: a late leave or join of a folded day lands in a new field and is
//  folded in again. KEYS 1 channels. Reply: the hash after, as HGETALL.
const char *scoring_fold_lua =
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local cut = tonumber(ARGV[1])\n"
    "local add, del = {}, {}\n"
    "local function inc(f, v) add[f] = (add[f] or 0) + v end\n"
    "for i = 1, #all, 2 do\n"
    "  local c, kind, d = string.match(all[i], '^([^:]+):([jl]%d*):(%-?%d+)$')\n"
    "  if c and tonumber(d) < cut then\n"
    "    local v = tonumber(all[i + 1]) or 0\n"
    "    if kind == 'j' then inc(c .. ':m7', v); inc(c .. ':r7', v); inc(c .. ':m30', v); inc(c .. ':r30', v)\n"
    "    elseif kind == 'l7' then inc(c .. ':r7', -v)\n"
    "    elseif kind == 'l30' then inc(c .. ':r30', -v) end\n"
    "    del[#del + 1] = all[i]\n"
    "  end\n"
    "end\n"
    "if #del == 0 then return all end\n"
    "for f, v in pairs(add) do redis.call('HINCRBY', KEYS[1], f, v) end\n"
    "for i = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, i, math.min(i + 999, #del))) end\n"
    "return redis.call('HGETALL', KEYS[1])\n";
