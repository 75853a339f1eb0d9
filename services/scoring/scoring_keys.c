#include "scoring.h"
#include "qy/util.h"

const char *scoring_count_lua =
    "local ttl = tonumber(ARGV[6])\n"
    "if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then\n"
    "  return {0, tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or 0),\n"
    "          tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0), redis.call('PFCOUNT', KEYS[3])}\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ttl)\n"
    "local mm = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or 0)\n"
    "local kind = ARGV[2]\n"
    "if kind == 'msg' then\n"
    "  mm = redis.call('HINCRBY', KEYS[4], ARGV[3], 1)\n"
    "  redis.call('EXPIRE', KEYS[4], ttl)\n"
    "  redis.call('HINCRBY', KEYS[2], 'msgs', 1)\n"
    "  redis.call('HINCRBY', KEYS[2], 'h' .. ARGV[4], 1)\n"
    "  redis.call('PFADD', KEYS[3], ARGV[3])\n"
    "  redis.call('EXPIRE', KEYS[3], ttl)\n"
    "elseif kind == 'join' then\n"
    "  redis.call('HINCRBY', KEYS[2], 'joins', 1)\n"
    "elseif kind == 'leave' then\n"
    "  redis.call('HINCRBY', KEYS[2], 'leaves', 1)\n"
    "end\n"
    "if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[2], 'viol', 1) end\n"
    "redis.call('EXPIRE', KEYS[2], ttl)\n"
    "return {1, mm, tonumber(redis.call('HGET', KEYS[2], 'msgs') or 0), redis.call('PFCOUNT', KEYS[3])}\n";

scoring_kind_t scoring_kind (const Qy__Event *ev)
{
    if (ev->kind == QY__KIND__JOIN)
        return SCORING_JOIN;
    if (ev->kind == QY__KIND__LEAVE)
        return SCORING_LEAVE;
    if (ev->kind >= QY__KIND__TEXT && ev->kind <= QY__KIND__QRCODE && ev->kind != QY__KIND__REVOKE)
        return SCORING_MSG;
    return SCORING_OTHER;
}

bool scoring_is_violation (const Qy__Event *ev)
{
    return ev->verdict && ev->verdict->violation_id > 0 && ev->verdict->action >= QY__ACTION__WARN;
}

void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t t_us, int tz_offset_min)
{
    k->day = qy_day_of (t_us, tz_offset_min);
    k->hour = qy_hour_of (t_us, tz_offset_min);
    long long g = (long long) group_id;
    qy_snprintf (k->ids, sizeof (k->ids), "sc:ids:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->group, sizeof (k->group), "sc:g:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->active, sizeof (k->active), "sc:a:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->members, sizeof (k->members), "sc:m:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->dirty, sizeof (k->dirty), "%lld:%lld:%d", (long long) brand_id, g, k->day);
}
