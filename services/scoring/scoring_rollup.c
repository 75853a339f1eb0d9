//  Roll-ups: the counters of dirty group-days are written to PostgreSQL as
//  absolute values, so writing one twice (two replicas, a retry) is harmless.
//  Each carries the day's event count n, its version: a row is replaced only
//  by a roll-up that counted at least as many events, so a replica that read
//  the counters before another's newer roll-up landed, or counters that had
//  expired, never write smaller numbers over the day (the member
//  rows follow the day's row). n only grows: a failed script that moved it
//  takes it back, and then it equals the last roll-up's.
//
//  What it costs follows the group-days that changed, not one round trip
//  each: a call takes up to max dirty marks, reads their counters in one
//  Redis pipeline and writes them with one unnest statement per table in
//  one transaction (at 100,000 groups nearly every event dirties a
//  group-day of its own; docs/benchmarks.md). Rows go in (group, day) order
//  on every replica, so two replicas writing overlapping batches lock them
//  in the same order.
#include "scoring.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Redis commands read per group-day: the day's hash, how many members
//  spoke, and what each said.
enum { S_READS = 3 };

//  One group-day read from Redis.
typedef struct {
    const scoring_brand_t *brand;
    redisReply *r [S_READS];    //  HGETALL day hash, HLEN members, HGETALL members
    bool won;                   //  its day row was written (not older than the stored one)
} s_item_t;

static int s_key_cmp (const void *a, const void *b)
{
    const scoring_rollup_key_t *x = a, *y = b;
    if (x->group_id != y->group_id)
        return x->group_id < y->group_id ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return (x->brand_id > y->brand_id) - (x->brand_id < y->brand_id);
}

size_t scoring_rollup_plan (const char *const *marks, size_t n, scoring_rollup_key_t *keys)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        long long bid, gid;
        int day, end = 0;
        if (!marks [i] || sscanf (marks [i], "%lld:%lld:%d%n", &bid, &gid, &day, &end) != 3
            || marks [i][end] != '\0' || bid <= 0 || gid <= 0)
            continue;       //  not ours: dropped
        keys [k++] = (scoring_rollup_key_t) { .brand_id = bid, .group_id = gid, .day = day, .mark = marks [i] };
    }
    qsort (keys, k, sizeof (*keys), s_key_cmp);
    //  One row per (group, day): a statement may not update a row twice.
    size_t out = 0;
    for (size_t i = 0; i < k; i++)
        if (out == 0 || keys [out - 1].group_id != keys [i].group_id || keys [out - 1].day != keys [i].day)
            keys [out++] = keys [i];
    return out;
}

static long long s_field (redisReply *h, const char *name)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (strcmp (h->element [i]->str, name) == 0)
            return strtoll (h->element [i + 1]->str, NULL, 10);
    return 0;
}

//  Read the counters of keys[0..n) in one pipeline. Returns 0, or -1 when
//  Redis failed (the replies read so far stay in items, freed by the caller).
static int s_read (qy_redis_t *redis, const scoring_rollup_key_t *keys, s_item_t *items, size_t n)
{
    static const char *const cmds [S_READS][2] = { { "HGETALL", "sc:g" }, { "HLEN", "sc:m" }, { "HGETALL", "sc:m" } };
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < S_READS; c++) {
            //  Active members exactly: one field per member who spoke (the
            //  HyperLogLog beside it serves quick unions over weeks).
            char key [80];
            qy_snprintf (key, sizeof (key), "%s:{g:%lld}:%d", cmds [c][1], (long long) keys [i].group_id, (int) keys [i].day);
            const char *argv [2] = { cmds [c][0], key };
            if (qy_redis_append_argv (redis, 2, argv, NULL))
                goto failed;
        }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < S_READS; c++) {
            redisReply *r = qy_redis_get_reply (redis);
            items [i].r [c] = r;
            if (!r || r->type != (c == 1 ? REDIS_REPLY_INTEGER : REDIS_REPLY_ARRAY))
                goto failed;
        }
    return 0;
failed:
    //  Never leave replies owed to the next command.
    if (qy_redis_unread (redis))
        qy_redis_disconnect (redis);
    return -1;
}

//  The day rows of items idx[0..n); marks the ones written (won). A day of
//  a group that is not the brand's (Redis holding counters PostgreSQL has
//  no group for) is refused as the foreign keys refused it before
//  migration 126 (qy_no_group, migration 128, raises their error): a read, where a key's
//  check locked the group's row.
static bool s_days (qy_pg_t *pg, const scoring_rollup_key_t *keys, s_item_t *items, const size_t *idx, size_t n)
{
    static const char *const fields [] = { "msgs", "", "joins", "leaves", "viol", "", "staff", "posts", "resp",
                                           "replies", "q", "ans", "n" };
    enum { NF = sizeof (fields) / sizeof (fields [0]) };
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 3 + NF);
    for (size_t j = 0; j < n; j++) {
        const scoring_rollup_key_t *k = &keys [idx [j]];
        s_item_t *it = &items [idx [j]];
        qy_pg_cols_row (&cols);
        qy_pg_cols_int (&cols, 0, k->brand_id);
        qy_pg_cols_int (&cols, 1, k->group_id);
        qy_pg_cols_int (&cols, 2, k->day);
        for (size_t f = 0; f < NF; f++)
            if (*fields [f])
                qy_pg_cols_int (&cols, 3 + f, s_field (it->r [0], fields [f]));
        qy_pg_cols_int (&cols, 3 + 1, it->r [1]->integer);
        //  The day's 24 hours as one array literal, cast back in the statement.
        char hist [24 * QY_PG_I64_LEN + 4];
        size_t at = 0;
        for (int hr = 0; hr < 24; hr++)
            at += (size_t) snprintf (hist + at, sizeof (hist) - at, "%c%lld", hr ? ',' : '{',
                                     s_field (it->r [0], scoring_hour_field (hr)));
        qy_snprintf (hist + at, sizeof (hist) - at, "}");
        qy_pg_cols_text (&cols, 3 + 5, hist);
    }
    const char *p [3 + NF];
    qy_pg_cols_params (&cols, p);
    PGresult *won = NULL;
    bool ok = qy_pg_run (pg, "group rollup",
        "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations, hour_hist, "
        "  staff_messages, posts, post_replies, replies, questions, answered, events) "
        "SELECT b, CASE WHEN EXISTS (SELECT 1 FROM groups WHERE id = x.g AND brand_id = x.b) THEN g "
        "          ELSE qy_no_group (b, g) END, DATE '1970-01-01' + d, m, a, j, l, v, h::bigint[], s, p, pr, r, q, an, n "
        "FROM unnest ($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], "
        "  $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], "
        "  $15::bigint[], $16::bigint[]) AS x (b, g, d, m, a, j, l, v, h, s, p, pr, r, q, an, n) "
        "ORDER BY g, d "
        "ON CONFLICT (group_id, day) DO UPDATE SET "
        "messages = EXCLUDED.messages, active_members = EXCLUDED.active_members, joins = EXCLUDED.joins, "
        "leaves = EXCLUDED.leaves, violations = EXCLUDED.violations, hour_hist = EXCLUDED.hour_hist, "
        "staff_messages = EXCLUDED.staff_messages, posts = EXCLUDED.posts, post_replies = EXCLUDED.post_replies, "
        "replies = EXCLUDED.replies, questions = EXCLUDED.questions, answered = EXCLUDED.answered, "
        "events = EXCLUDED.events, updated_at = now () "
        "WHERE daily_group_stats.brand_id = EXCLUDED.brand_id AND daily_group_stats.events <= EXCLUDED.events "
        "RETURNING group_id, day - DATE '1970-01-01'", 3 + NF, p, &won);
    qy_pg_cols_free (&cols);
    //  A day not returned has a roll-up with more events already: kept whole.
    for (int r = 0; ok && r < PQntuples (won); r++) {
        scoring_rollup_key_t probe = { .group_id = qy_pg_int (won, r, 0), .day = (int32_t) qy_pg_int (won, r, 1) };
        for (size_t j = 0; j < n; j++)
            if (keys [idx [j]].group_id == probe.group_id && keys [idx [j]].day == probe.day)
                items [idx [j]].won = true;
    }
    if (won)
        PQclear (won);
    return ok;
}

//  The member rows of the days written. (A day's hours are its row's
//  hour_hist: hourly_group_stats is a view over it since migration 132.)
static bool s_members (qy_pg_t *pg, const scoring_rollup_key_t *keys, const s_item_t *items, const size_t *idx,
                       size_t n)
{
    qy_pg_cols_t members;
    qy_pg_cols_init (&members, 5);
    for (size_t j = 0; j < n; j++) {
        const scoring_rollup_key_t *k = &keys [idx [j]];
        const s_item_t *it = &items [idx [j]];
        if (!it->won)
            continue;
        //  Redis's member ids and counts are integers already: passed as they are.
        const redisReply *m = it->r [2];
        for (size_t i = 0; i + 1 < m->elements; i += 2) {
            qy_pg_cols_row (&members);
            qy_pg_cols_int (&members, 0, k->brand_id);
            qy_pg_cols_int (&members, 1, k->group_id);
            qy_pg_cols_printf (&members, 2, "%s", m->element [i]->str);
            qy_pg_cols_int (&members, 3, k->day);
            qy_pg_cols_printf (&members, 4, "%s", m->element [i + 1]->str);
        }
    }
    const char *mp [5];
    qy_pg_cols_params (&members, mp);
    bool ok = members.nrows == 0 || qy_pg_run (pg, "member rollup",
            "INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages) "
            "SELECT b, g, m, DATE '1970-01-01' + d, c "
            "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bigint[]) AS x (b, g, m, d, c) "
            "ORDER BY g, d, m "
            "ON CONFLICT (group_id, member_id, day) DO UPDATE SET messages = EXCLUDED.messages, updated_at = now () "
            "WHERE daily_member_stats.brand_id = EXCLUDED.brand_id", 5, mp, NULL);
    qy_pg_cols_free (&members);
    return ok;
}

//  Write items idx[0..n) in one transaction. Returns 0 when written, -1
//  when it failed for the moment, -2 when PostgreSQL refused the data
//  itself (some row in it: trying the same again would fail again; its
//  SQLSTATE in state).
static int s_write (qy_pg_t *pg, const scoring_rollup_key_t *keys, s_item_t *items, const size_t *idx, size_t n,
                    char state [static 6])
{
    for (size_t j = 0; j < n; j++)
        items [idx [j]].won = false;
    if (qy_pg_run (pg, "rollup begin", "BEGIN", 0, NULL, NULL)
        && s_days (pg, keys, items, idx, n)
        && s_members (pg, keys, items, idx, n)
        && qy_pg_run (pg, "rollup commit", "COMMIT", 0, NULL, NULL))
        return 0;
    qy_snprintf (state, 6, "%s", qy_pg_last_sqlstate (pg));
    bool bad = qy_pg_input_at_fault (state);
    qy_pg_run (pg, "rollup rollback", "ROLLBACK", 0, NULL, NULL);
    return bad ? -2 : -1;
}

//  Put the marks of the keys flagged again[0..k) back in the dirty set for
//  the next round.
static void s_keep_dirty (qy_redis_t *redis, const scoring_rollup_key_t *keys, const bool *again, size_t k)
{
    const char **argv = qy_calloc (k + 2, sizeof (*argv));
    int argc = 2;
    argv [0] = "SADD";
    argv [1] = "sc:dirty";
    for (size_t i = 0; i < k; i++)
        if (again [i])
            argv [argc++] = keys [i].mark;
    redisReply *r = argc > 2 ? qy_redis_argv (redis, argc, argv, NULL) : NULL;
    if (r)
        freeReplyObject (r);
    free (argv);
}

//  Write the group-days idx[0..n); those to keep dirty are flagged in
//  again (indexed like keys), *refused counts the ones dropped. Returns -1
//  when any failed for the moment.
static int s_write_all (qy_pg_t *pg, const scoring_rollup_key_t *keys, s_item_t *items, const size_t *idx, size_t n,
                        bool *again, size_t *refused)
{
    char state [6];
    int w = n ? s_write (pg, keys, items, idx, n, state) : 0;
    if (w == -1) {
        for (size_t j = 0; j < n; j++)
            again [idx [j]] = true;
        return -1;
    }
    if (w == 0)
        return 0;
    //  Refused for what one of them held: each alone, so only that
    //  group-day's own fault costs it (its group deleted, a value out of
    //  range). Its counters stay in Redis until they expire.
    int rc = 0;
    for (size_t j = 0; j < n; j++) {
        const scoring_rollup_key_t *k = &keys [idx [j]];
        int one = rc == 0 ? s_write (pg, keys, items, idx + j, 1, state) : -1;
        if (one == -2) {
            qy_log_error ("brand=%s day=%s roll-up refused by PostgreSQL (sqlstate %s): dropped, the others go on",
                          items [idx [j]].brand->code, k->mark, state);
            (*refused)++;
        }
        else if (one == -1) {
            again [idx [j]] = true;
            rc = -1;
        }
    }
    return rc;
}

//  Mark the groups of the group-days written (idx[0..n) but those flagged
//  again) for the evaluation's next round: their counts changed.
static void s_mark_changed (qy_redis_t *redis, const scoring_rollup_key_t *keys, const size_t *idx, size_t n,
                            const bool *again)
{
    char (*marks)[2 * QY_PG_I64_LEN] = qy_calloc (n + 1, sizeof (*marks));
    const char **argv = qy_calloc (n + 2, sizeof (*argv));
    int argc = 2;
    argv [0] = "SADD";
    argv [1] = SCORING_EVAL_QUEUE_KEY;
    for (size_t j = 0; j < n; j++) {
        if (again [idx [j]])
            continue;
        qy_snprintf (marks [j], sizeof (marks [j]), "%lld:%lld", (long long) keys [idx [j]].brand_id,
                     (long long) keys [idx [j]].group_id);
        argv [argc++] = marks [j];
    }
    //  Lost with Redis at worst: the evaluation's full sweep finds the group.
    redisReply *r = argc > 2 ? qy_redis_argv (redis, argc, argv, NULL) : NULL;
    if (r)
        freeReplyObject (r);
    free (argv);
    free (marks);
}

int scoring_rollup (qy_redis_t *redis, qy_pg_t *pg, scoring_brands_t *brands, int max)
{
    redisReply *r = qy_redis_cmd (redis, "SPOP sc:dirty %d", max);
    if (!r)
        return -1;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    const char **marks = qy_calloc (n + 1, sizeof (*marks));
    for (size_t i = 0; i < n; i++)
        marks [i] = r->element [i]->str;
    scoring_rollup_key_t *keys = qy_calloc (n + 1, sizeof (*keys));
    size_t k = scoring_rollup_plan (marks, n, keys);
    s_item_t *items = qy_calloc (k + 1, sizeof (*items));
    size_t *ready = qy_calloc (k + 1, sizeof (*ready));     //  counted: to be written
    bool *again = qy_calloc (k + 1, sizeof (*again));       //  to stay dirty for the next round
    size_t nready = 0, refused = 0;
    int rc = 0;
    bool read = s_read (redis, keys, items, k) == 0;
    for (size_t i = 0; i < k; i++) {
        items [i].brand = read ? scoring_brands_get (brands, keys [i].brand_id) : NULL;
        if (!items [i].brand) {
            again [i] = true;       //  Redis, or PostgreSQL reading the brand, failed
            rc = -1;
        }
        else if (s_field (items [i].r [0], "n") > 0)
            ready [nready++] = i;
        //  else the counters expired (or never were): the row stands as it is
    }
    if (s_write_all (pg, keys, items, ready, nready, again, &refused) < 0)
        rc = -1;
    s_keep_dirty (redis, keys, again, k);
    s_mark_changed (redis, keys, ready, nready, again);
    for (size_t i = 0; i < k; i++)
        for (int c = 0; c < S_READS; c++)
            if (items [i].r [c])
                freeReplyObject (items [i].r [c]);
    free (items);
    free (ready);
    free (again);
    free (keys);
    free (marks);
    freeReplyObject (r);
    return rc ? -1 : (int) (k - refused);
}
