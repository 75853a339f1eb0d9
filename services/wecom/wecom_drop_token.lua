-- wecom_drop_token: drop the cached token if it is still the one WeCom
-- refused (wecom_api.c). KEYS 1 the token key. ARGV 1 the refused token.
-- Reply: 1 when dropped, 0 when another replica has fetched a new one.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0