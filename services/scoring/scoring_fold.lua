-- scoring_fold (scoring_eval.c runs it).
-- Folding a group's channel cohorts: the join cohorts of days before
-- ARGV[1] (older than 30 days: judged for both 7- and 30-day retention)
-- are added into running totals per channel, C:m7 C:r7 C:m30 C:r30
-- (joins matured, joins retained), and their fields deleted, so the hash
-- keeps about a month of cohorts instead of growing with every day. All
-- sums: a late leave or join of a folded day lands in a new field and is
-- folded in again. KEYS 1 channels. Reply: the hash after, as HGETALL.
local all = redis.call('HGETALL', KEYS[1])
local cut = tonumber(ARGV[1])
local add, del = {}, {}
local function inc(f, v) add[f] = (add[f] or 0) + v end
for i = 1, #all, 2 do
  local c, kind, d = string.match(all[i], '^([^:]+):([jl]%d*):(%-?%d+)$')
  if c and tonumber(d) < cut then
    local v = tonumber(all[i + 1]) or 0
    if kind == 'j' then inc(c .. ':m7', v); inc(c .. ':r7', v); inc(c .. ':m30', v); inc(c .. ':r30', v)
    elseif kind == 'l7' then inc(c .. ':r7', -v)
    elseif kind == 'l30' then inc(c .. ':r30', -v) end
    del[#del + 1] = all[i]
  end
end
if #del == 0 then return all end
for f, v in pairs(add) do redis.call('HINCRBY', KEYS[1], f, v) end
for i = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, i, math.min(i + 999, #del))) end
return redis.call('HGETALL', KEYS[1])
