-- moderation_mute_lengthen: set a member's mute end (µs) for px ms, unless a
-- later end is there already (another replica's longer mute stays).
-- KEYS 1 mute:{b:B}:M. ARGV 1 the end, unix µs; 2 px. Reply: OK, or 0 when
-- a later end stays.
if tonumber (redis.call ('GET', KEYS[1]) or '0') < tonumber (ARGV[1]) then return redis.call ('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 0