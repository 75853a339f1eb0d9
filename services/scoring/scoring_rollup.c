//  Roll-ups: the counters of dirty group-days are written to PostgreSQL as
//  absolute values, so writing one twice (two replicas, a retry) is harmless.
//  Each carries the day's event count n, its version: a row is replaced only
//  by a roll-up that counted at least as many events, so a replica that read
//  the counters before another's newer roll-up landed, or counters that had
//  expired, never write smaller numbers over the day (the hourly and member
//  rows follow the day's row). n only grows: a failed script that moved it
//  takes it back, and then it equals the last roll-up's.
#include "scoring.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long s_field (redisReply *h, const char *name)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (strcmp (h->element [i]->str, name) == 0)
            return strtoll (h->element [i + 1]->str, NULL, 10);
    return 0;
}

//  Write one group-day. Returns 1 when written (or nothing to write), -1
//  when it failed (*bad set when PostgreSQL refused the data itself:
//  trying it again would fail again).
static int s_one (qy_redis_t *redis, qy_pg_t *pg, scoring_brands_t *brands, const char *dirty, bool *bad)
{
    *bad = false;
    long long bid, gid;
    int day;
    if (sscanf (dirty, "%lld:%lld:%d", &bid, &gid, &day) != 3)
        return 0;          //  not ours: drop it
    redisReply *h = qy_redis_cmd (redis, "HGETALL sc:g:{g:%lld}:%d", gid, day);
    //  Active members exactly: one field per member who spoke (the HyperLogLog
    //  beside it serves quick unions over weeks).
    redisReply *a = qy_redis_cmd (redis, "HLEN sc:m:{g:%lld}:%d", gid, day);
    redisReply *m = qy_redis_cmd (redis, "HGETALL sc:m:{g:%lld}:%d", gid, day);
    int rc = -1;
    const scoring_brand_t *brand = scoring_brands_get (brands, bid);
    if (!brand || !h || !a || !m || h->type != REDIS_REPLY_ARRAY || m->type != REDIS_REPLY_ARRAY)
        goto done;
    if (s_field (h, "n") <= 0) {
        rc = 1;             //  the counters expired (or never were): the row stands as it is
        goto done;
    }
    char sb [QY_PG_I64_LEN], sg [QY_PG_I64_LEN], sd [16], msgs [QY_PG_I64_LEN], act [QY_PG_I64_LEN];
    char joins [QY_PG_I64_LEN], leaves [QY_PG_I64_LEN], viol [QY_PG_I64_LEN], events [QY_PG_I64_LEN];
    qy_pg_i64 (sb, bid);
    qy_pg_i64 (sg, gid);
    qy_day_format (day, sd, sizeof (sd), false);
    qy_pg_i64 (msgs, s_field (h, "msgs"));
    qy_pg_i64 (act, a->integer);
    qy_pg_i64 (joins, s_field (h, "joins"));
    qy_pg_i64 (leaves, s_field (h, "leaves"));
    qy_pg_i64 (viol, s_field (h, "viol"));
    qy_pg_i64 (events, s_field (h, "n"));
    char more [6][QY_PG_I64_LEN];
    static const char *const more_fields [6] = { "staff", "posts", "resp", "replies", "q", "ans" };
    for (int i = 0; i < 6; i++)
        qy_pg_i64 (more [i], s_field (h, more_fields [i]));
    //  The day's 24 hours as one array; the hours with messages and the
    //  members who spoke as rows.
    qy_pg_cols_t hist, hours, members;
    qy_pg_cols_init (&hist, 1);
    qy_pg_cols_init (&hours, 2);
    qy_pg_cols_init (&members, 2);
    //  The local day starts at day × 86400 − offset in unix seconds.
    int64_t day_start = (int64_t) day * 86400 - (int64_t) brand->tz_offset_min * 60;
    for (int hr = 0; hr < 24; hr++) {
        char f [8];
        qy_snprintf (f, sizeof (f), "h%d", hr);
        long long c = s_field (h, f);
        qy_pg_cols_row (&hist);
        qy_pg_cols_int (&hist, 0, c);
        if (c) {
            qy_pg_cols_row (&hours);
            qy_pg_cols_int (&hours, 0, day_start + hr * 3600);
            qy_pg_cols_int (&hours, 1, c);
        }
    }
    //  Redis's member ids and counts are integers already: passed as they are.
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        qy_pg_cols_row (&members);
        qy_pg_cols_printf (&members, 0, "%s", m->element [i]->str);
        qy_pg_cols_printf (&members, 1, "%s", m->element [i + 1]->str);
    }
    const char *gp [] = { sb, sg, sd, msgs, act, joins, leaves, viol, qy_pg_cols_array (&hist, 0),
                          more [0], more [1], more [2], more [3], more [4], more [5], events };
    const char *hp [4] = { sb, sg };
    qy_pg_cols_params (&hours, hp + 2);
    const char *mp [5] = { sb, sg, sd };
    qy_pg_cols_params (&members, mp + 3);
    PGresult *won = NULL;
    bool ok = qy_pg_run (pg, "rollup begin", "BEGIN", 0, NULL, NULL)
        && qy_pg_run (pg, "group rollup",
            "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations, hour_hist, "
            "  staff_messages, posts, post_replies, replies, questions, answered, events) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (group_id, day) DO UPDATE SET "
            "messages = EXCLUDED.messages, active_members = EXCLUDED.active_members, joins = EXCLUDED.joins, "
            "leaves = EXCLUDED.leaves, violations = EXCLUDED.violations, hour_hist = EXCLUDED.hour_hist, "
            "staff_messages = EXCLUDED.staff_messages, posts = EXCLUDED.posts, post_replies = EXCLUDED.post_replies, "
            "replies = EXCLUDED.replies, questions = EXCLUDED.questions, answered = EXCLUDED.answered, "
            "events = EXCLUDED.events, updated_at = now () "
            "WHERE daily_group_stats.brand_id = EXCLUDED.brand_id AND daily_group_stats.events <= EXCLUDED.events "
            "RETURNING 1", 16, gp, &won);
    //  No row back: a roll-up with more events is there already; keep it whole.
    bool newer = ok && PQntuples (won) > 0;
    if (won)
        PQclear (won);
    ok = ok
        && (!newer || qy_pg_run (pg, "hourly rollup",
            "INSERT INTO hourly_group_stats (brand_id, group_id, hour, messages) "
            "SELECT $1, $2, to_timestamp (h), c FROM unnest ($3::bigint[], $4::bigint[]) AS x (h, c) "
            "ON CONFLICT (group_id, hour) DO UPDATE SET messages = EXCLUDED.messages, updated_at = now () "
            "WHERE hourly_group_stats.brand_id = EXCLUDED.brand_id", 4, hp, NULL))
        && (!newer || qy_pg_run (pg, "member rollup",
            "INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages) "
            "SELECT $1, $2, m, $3, c FROM unnest ($4::bigint[], $5::bigint[]) AS x (m, c) "
            "ON CONFLICT (group_id, member_id, day) DO UPDATE SET messages = EXCLUDED.messages, updated_at = now () "
            "WHERE daily_member_stats.brand_id = EXCLUDED.brand_id", 5, mp, NULL))
        && qy_pg_run (pg, "rollup commit", "COMMIT", 0, NULL, NULL);
    if (!ok) {
        //  Refused for what it held: this group-day's own fault.
        const char *state = qy_pg_last_sqlstate (pg);
        *bad = qy_pg_input_at_fault (state);
        if (*bad)
            qy_log_error ("brand=%s day=%s roll-up refused by PostgreSQL (sqlstate %s): dropped, the others go on",
                          brand->code, dirty, state);
    }
    if (!ok)
        qy_pg_run (pg, "rollup rollback", "ROLLBACK", 0, NULL, NULL);
    qy_pg_cols_free (&hist);
    qy_pg_cols_free (&hours);
    qy_pg_cols_free (&members);
    rc = ok ? 1 : -1;
done:
    if (h) freeReplyObject (h);
    if (a) freeReplyObject (a);
    if (m) freeReplyObject (m);
    return rc;
}

int scoring_rollup (qy_redis_t *redis, qy_pg_t *pg, scoring_brands_t *brands, int max)
{
    redisReply *r = qy_redis_cmd (redis, "SPOP sc:dirty %d", max);
    if (!r)
        return -1;
    int written = 0, rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *dirty = r->element [i]->str;
        bool bad = false;
        if (rc == 0 && s_one (redis, pg, brands, dirty, &bad) >= 0) {
            written++;
            continue;
        }
        if (bad) {
            //  PostgreSQL refuses this group-day's data (its group deleted,
            //  a value out of range): trying again fails again, and would
            //  hold back the others. Its counters stay in Redis until they expire.
            continue;
        }
        //  Keep it dirty for the next round.
        rc = -1;
        redisReply *back = qy_redis_cmd (redis, "SADD sc:dirty %s", dirty);
        if (back)
            freeReplyObject (back);
    }
    freeReplyObject (r);
    return rc ? -1 : written;
}
