//  The scoring library against a real Redis and PostgreSQL (run.sh starts
//  them and makes the brand and groups): the counting, the roll-up
//  and the evaluation, each case checking what lands in Redis and
//  PostgreSQL. Arguments: Redis port, PostgreSQL DSN, brand id, then the
//  ids of groups g1..g8 (each case has its own group). Prints one line per
//  check and exits 1 when any fails.
#include "scoring.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qy/outlet.h"
#include <zmq.h>

static int s_failed;
static qy_redis_t *s_redis;
static qy_pg_t *s_pg;
static scoring_brands_t *s_brands;
static int64_t s_bid;
static scoring_count_config_t s_cfg = {
    .ttl_s = 40 * 86400, .member_ttl_s = 400 * 86400, .half_short_s = 7 * 86400.0, .half_long_s = 30 * 86400.0,
    .reply_window_s = 120, .post_window_s = 7200, .substantial_chars = 20,
};

static void s_check (const char *what, bool ok)
{
    printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static void s_check_int (const char *what, long long got, long long want)
{
    char line [256];
    qy_snprintf (line, sizeof (line), "%s = %lld (want %lld)", what, got, want);
    s_check (line, got == want);
}

//  An integer reply of a Redis command (a bulk string read as a number; -999 for nil).
static long long s_redis_int (const char *fmt, const char *key, const char *arg)
{
    redisReply *r = arg ? qy_redis_cmd (s_redis, fmt, key, arg) : qy_redis_cmd (s_redis, fmt, key);
    long long v = -999;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll (r->str, NULL, 10);
    if (r)
        freeReplyObject (r);
    return v;
}

//  Run a command given as one line (words split at spaces).
static void s_redis_do (const char *cmd)
{
    char buf [256];
    const char *argv [16];
    int argc = 0;
    qy_strlcpy (buf, cmd, sizeof (buf));
    for (char *w = strtok (buf, " "); w && argc < 16; w = strtok (NULL, " "))
        argv [argc++] = w;
    redisReply *r = qy_redis_argv (s_redis, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR)
        printf ("setup failed: %s\n", cmd);
    if (r)
        freeReplyObject (r);
}

static long long s_pg_int (const char *sql)
{
    PGresult *res;
    long long v = -999;
    if (qy_pg_run (s_pg, "check", sql, 0, NULL, &res)) {
        if (PQntuples (res))
            v = qy_pg_int (res, 0, 0);
        PQclear (res);
    }
    return v;
}

//  Events: a small pool, reset per case.
static Qy__Event s_pool [48];
static char s_ids [48][48], s_users [48][24];
static size_t s_used;

static Qy__Event *s_ev (int64_t bid, int64_t gid, int64_t member, Qy__Kind kind, int64_t t_s, const char *id)
{
    Qy__Event *ev = &s_pool [s_used];
    qy__event__init (ev);
    qy_strlcpy (s_ids [s_used], id, sizeof (s_ids [s_used]));
    qy_snprintf (s_users [s_used], sizeof (s_users [s_used]), "u%lld", (long long) member);
    ev->brand = "sc";
    ev->brand_id = bid;
    ev->group_id = gid;
    ev->member_id = member;
    ev->member = s_users [s_used];
    ev->msg_id = s_ids [s_used];
    ev->kind = kind;
    ev->text = "好的";
    ev->event_time_us = t_s * 1000000;
    s_used++;
    return ev;
}

//  Count evs[0..n) as the service does, once; out[i] gets each outcome.
static int s_count (Qy__Event **evs, size_t n, scoring_outcome_t *out)
{
    Qy__Standing st [32];
    for (size_t i = 0; i < n; i++)
        out [i] = SCORING_PENDING;
    return scoring_count_batch (&s_cfg, s_redis, s_brands, evs, st, out, n);
}

static scoring_outcome_t s_count1 (Qy__Event *ev)
{
    scoring_outcome_t out;
    s_count (&ev, 1, &out);
    return out;
}

//  1. One batch with events of twelve brands: the brand cache grows
//  (at 8) while the batch holds the first brands' settings.
static void s_many_brands (int64_t gid, int64_t now)
{
    s_used = 0;
    Qy__Event *evs [12];
    for (int i = 0; i < 12; i++) {
        char id [32];
        qy_snprintf (id, sizeof (id), "brands-%d", i);
        evs [i] = s_ev (1000 + i, gid, 1, QY__KIND__TEXT, now, id);
    }
    scoring_outcome_t out [12];
    int rc = s_count (evs, 12, out);
    int counted = 0;
    for (int i = 0; i < 12; i++)
        counted += out [i] == SCORING_COUNTED;
    s_check_int ("twelve brands in one batch: counted", rc == 0 ? counted : -1, 12);
}

//  2. An event counters.ttl_days or more behind the brand's latest event
//  is not counted (its day's counters may have expired), one inside the
//  window is; the roll-up never writes a day over with fewer events.
static void s_old_events (int64_t gid, int64_t now)
{
    s_used = 0;
    char key [96], mkey [96];
    int32_t today = qy_day_of (now * 1000000, 0);
    qy_snprintf (mkey, sizeof (mkey), "sc:u:{g:%lld}:7", (long long) gid);
    //  The brand is live: its latest event is now (another group's, another replica's).
    char cmd [96];
    qy_snprintf (cmd, sizeof (cmd), "ZADD sc:clock %lld %lld", (long long) now, (long long) s_bid);
    s_redis_do (cmd);
    scoring_outcome_t o = s_count1 (s_ev (s_bid, gid, 7, QY__KIND__TEXT, now - 45 * 86400LL, "old-1"));
    s_check_int ("45 days old: too old", o, SCORING_TOO_OLD);
    qy_snprintf (key, sizeof (key), "sc:g:{g:%lld}:%d", (long long) gid, today - 45);
    s_check_int ("45 days old: no counters made", s_redis_int ("EXISTS %s", key, NULL), 0);
    s_check_int ("45 days old: member not counted", s_redis_int ("HGET %s %s", mkey, "msgs"), -999);
    o = s_count1 (s_ev (s_bid, gid, 7, QY__KIND__TEXT, now - 38 * 86400LL, "old-2"));
    s_check_int ("38 days old: counted", o, SCORING_COUNTED);
    s_check_int ("38 days old: member counted", s_redis_int ("HGET %s %s", mkey, "msgs"), 1);

    //  The roll-up: day today-3 holds 10 events in PostgreSQL; Redis has
    //  counters of 1 event for it (restarted after expiry, or a stale read).
    char sql [512], dirty [64];
    qy_snprintf (sql, sizeof (sql),
                 "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, events) "
                 "VALUES (%lld, %lld, (to_timestamp (%lld) AT TIME ZONE 'UTC')::date - 3, 10, 10)",
                 (long long) s_bid, (long long) gid, (long long) now);
    PQclear (qy_pg_exec (s_pg, sql, 0, NULL));
    qy_snprintf (key, sizeof (key), "sc:g:{g:%lld}:%d", (long long) gid, today - 3);
    redisReply *r = qy_redis_cmd (s_redis, "HSET %s n 1 msgs 1", key);
    if (r)
        freeReplyObject (r);
    qy_snprintf (dirty, sizeof (dirty), "%lld:%lld:%d", (long long) s_bid, (long long) gid, today - 3);
    r = qy_redis_cmd (s_redis, "SADD sc:dirty %s", dirty);
    if (r)
        freeReplyObject (r);
    int w = scoring_rollup (s_redis, s_pg, s_brands, 200);
    qy_snprintf (sql, sizeof (sql), "SELECT messages FROM daily_group_stats WHERE group_id = %lld "
                 "AND day = (to_timestamp (%lld) AT TIME ZONE 'UTC')::date - 3", (long long) gid, (long long) now);
    s_check ("roll-up ran", w >= 0);
    s_check_int ("a roll-up of 1 event leaves the day of 10", s_pg_int (sql), 10);
    //  More events than the row: written.
    r = qy_redis_cmd (s_redis, "HSET %s n 12 msgs 12", key);
    if (r)
        freeReplyObject (r);
    r = qy_redis_cmd (s_redis, "SADD sc:dirty %s", dirty);
    if (r)
        freeReplyObject (r);
    scoring_rollup (s_redis, s_pg, s_brands, 200);
    s_check_int ("a roll-up of 12 events replaces it", s_pg_int (sql), 12);
}

//  8b. One roll-up writes a whole round of group-days (one statement per
//  table): every day, its hours and its members land with their own values,
//  a day stored with more events keeps its rows whole, and the round takes
//  more marks than one call's max (the rest on the next call).
static void s_round_rollup (int64_t gid, int64_t now)
{
    int32_t today = qy_day_of (now * 1000000, 0);
    enum { DAYS = 7, FIRST = 20 };      //  days today-20 .. today-14
    char sql [512], cmd [256];
    qy_snprintf (sql, sizeof (sql), "INSERT INTO members (brand_id, user_id) VALUES (%lld, 'round-u') RETURNING id",
                 (long long) s_bid);
    long long mid = s_pg_int (sql);
    //  The stale one: today-17 holds 100 events and 50 messages by the member.
    qy_snprintf (sql, sizeof (sql),
                 "WITH d AS (INSERT INTO daily_group_stats (brand_id, group_id, day, messages, events) "
                 "  VALUES (%lld, %lld, DATE '1970-01-01' + %d, 50, 100) RETURNING 1) "
                 "INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages) "
                 "VALUES (%lld, %lld, %lld, DATE '1970-01-01' + %d, 50)",
                 (long long) s_bid, (long long) gid, today - 17, (long long) s_bid, (long long) gid, mid, today - 17);
    PQclear (qy_pg_exec (s_pg, sql, 0, NULL));
    s_redis_do ("DEL sc:dirty");
    for (int i = 0; i < DAYS; i++) {
        int day = today - FIRST + i;
        qy_snprintf (cmd, sizeof (cmd), "HSET sc:g:{g:%lld}:%d n %d msgs %d h10 %d", (long long) gid, day, i + 1, i + 1, i + 1);
        s_redis_do (cmd);
        qy_snprintf (cmd, sizeof (cmd), "HSET sc:m:{g:%lld}:%d %lld %d", (long long) gid, day, mid, i + 1);
        s_redis_do (cmd);
        qy_snprintf (cmd, sizeof (cmd), "SADD sc:dirty %lld:%lld:%d", (long long) s_bid, (long long) gid, day);
        s_redis_do (cmd);
    }
    int w1 = scoring_rollup (s_redis, s_pg, s_brands, 4);
    int w2 = scoring_rollup (s_redis, s_pg, s_brands, 4);
    s_check_int ("a round: four group-days, then the other three", (long long) w1 * 10 + w2, 43);
    s_check_int ("a round: nothing left dirty", s_redis_int ("SCARD %s", "sc:dirty", NULL), 0);
    char mark [64];
    qy_snprintf (mark, sizeof (mark), "%lld:%lld", (long long) s_bid, (long long) gid);
    s_check_int ("a round: its group marked for the evaluation", s_redis_int ("SISMEMBER %s %s", SCORING_EVAL_QUEUE_KEY, mark), 1);
    qy_snprintf (sql, sizeof (sql),
                 "SELECT sum ((d.day - DATE '1970-01-01' - %d + 1) * 1000000 + d.messages * 10000 + d.events * 100 "
                 "  + d.hour_hist [11] * 1000 + coalesce (m.messages, 0)) FROM daily_group_stats d "
                 "LEFT JOIN daily_member_stats m USING (group_id, day) WHERE d.group_id = %lld AND d.day <> DATE '1970-01-01' + %d "
                 "AND d.day < DATE '1970-01-01' + %d", today - FIRST, (long long) gid, today - 17, today - FIRST + DAYS);
    //  Days 1..7 but the stale 4th: each day i with i messages, i events,
    //  i in hour 10 and i member messages.
    long long want = 0;
    for (int i = 1; i <= DAYS; i++)
        if (i != 4)
            want += i * 1000000LL + i * 10000LL + i * 1000LL + i * 100LL + i;
    s_check_int ("a round: each day's messages, events, hours and member messages", s_pg_int (sql), want);
    qy_snprintf (sql, sizeof (sql), "SELECT sum (messages) * 100 + count (*) FROM hourly_group_stats WHERE group_id = %lld "
                 "AND hour < to_timestamp (%lld) AND extract (hour FROM hour AT TIME ZONE 'UTC') = 10",
                 (long long) gid, (long long) (today - FIRST + DAYS) * 86400);
    s_check_int ("a round: each day's hour 10, the stale day's not written", s_pg_int (sql), (1 + 2 + 3 + 5 + 6 + 7) * 100 + 6);
    qy_snprintf (sql, sizeof (sql), "SELECT d.messages * 1000 + d.events * 10 + m.messages / 10 FROM daily_group_stats d "
                 "JOIN daily_member_stats m USING (group_id, day) WHERE d.group_id = %lld AND d.day = DATE '1970-01-01' + %d",
                 (long long) gid, today - 17);
    s_check_int ("a round: the day stored with more events kept whole", s_pg_int (sql), 50 * 1000 + 100 * 10 + 5);
}

//  9. A group-day PostgreSQL refuses (its group is not there: the roll-up
//  checks, no foreign key since migration 126) is dropped, not written, and
//  does not hold back the others.
static void s_refused_rollup (int64_t gid, int64_t now)
{
    int32_t today = qy_day_of (now * 1000000, 0);
    char cmd [256], bad [64], good [64];
    qy_snprintf (bad, sizeof (bad), "%lld:%d:%d", (long long) s_bid, 999999, today);
    qy_snprintf (good, sizeof (good), "%lld:%lld:%d", (long long) s_bid, (long long) gid, today);
    qy_snprintf (cmd, sizeof (cmd), "HSET sc:g:{g:999999}:%d n 3 msgs 3", today);
    s_redis_do (cmd);
    qy_snprintf (cmd, sizeof (cmd), "HSET sc:g:{g:%lld}:%d n 4 msgs 4", (long long) gid, today);
    s_redis_do (cmd);
    s_redis_do ("DEL sc:dirty");
    qy_snprintf (cmd, sizeof (cmd), "SADD sc:dirty %s %s", bad, good);
    s_redis_do (cmd);
    int w = scoring_rollup (s_redis, s_pg, s_brands, 200);
    char sql [256];
    qy_snprintf (sql, sizeof (sql), "SELECT messages FROM daily_group_stats WHERE group_id = %lld "
                 "AND day = (to_timestamp (%lld) AT TIME ZONE 'UTC')::date", (long long) gid, (long long) now);
    s_check_int ("the other group-day written in the same round", s_pg_int (sql), 4);
    s_check_int ("the refused one is not kept dirty", s_redis_int ("SISMEMBER %s %s", "sc:dirty", bad), 0);
    s_check_int ("the refused one not written", s_pg_int ("SELECT count (*) FROM daily_group_stats WHERE group_id = 999999"), 0);
    s_check_int ("roll-up returns the written count", w, 1);
}

//  4. Group keys made after the day's first event expire too.
static void s_expiry (int64_t gid, int64_t now)
{
    s_used = 0;
    Qy__Event *join = s_ev (s_bid, gid, 1, QY__KIND__JOIN, now - 100, "exp-1");
    s_count1 (join);            //  the day's first event: no state hash yet
    s_count1 (s_ev (s_bid, gid, 2, QY__KIND__TEXT, now - 90, "exp-2"));
    Qy__Event *quote = s_ev (s_bid, gid, 1, QY__KIND__TEXT, now - 80, "exp-3");
    quote->ref_msg_id = "exp-2";
    s_count1 (quote);
    const char *names [] = { "gs", "lb", "r", "mem", "uid", "ch" };
    for (size_t i = 0; i < QY_ARRAY_LEN (names); i++) {
        char key [96], what [64];
        qy_snprintf (key, sizeof (key), "sc:%s:{g:%lld}", names [i], (long long) gid);
        qy_snprintf (what, sizeof (what), "sc:%s made later in the day expires", names [i]);
        long long ttl = s_redis_int ("TTL %s", key, NULL);
        s_check (what, ttl > 0 && ttl <= s_cfg.member_ttl_s);
    }
}

//  5. A leave handled before the join it ends: the member is out, and the
//  join cohort counts the early leave.
static void s_leave_first (int64_t gid, int64_t now)
{
    s_used = 0;
    char mkey [96], chkey [96], field [48];
    qy_snprintf (mkey, sizeof (mkey), "sc:u:{g:%lld}:5", (long long) gid);
    qy_snprintf (chkey, sizeof (chkey), "sc:ch:{g:%lld}", (long long) gid);
    Qy__Event *join = s_ev (s_bid, gid, 5, QY__KIND__JOIN, now - 3600, "lf-join");
    join->channel_id = 42;
    s_count1 (s_ev (s_bid, gid, 5, QY__KIND__LEAVE, now - 600, "lf-leave"));
    s_count1 (join);
    s_check_int ("leave before join: member out", s_redis_int ("HGET %s %s", mkey, "in"), 0);
    qy_snprintf (field, sizeof (field), "42:l7:%d", qy_day_of ((now - 3600) * 1000000, 0));
    s_check_int ("leave before join: the cohort's early leave", s_redis_int ("HGET %s %s", chkey, field), 1);
    //  A rejoin later than the leave puts them back; an older leave then changes nothing.
    Qy__Event *rejoin = s_ev (s_bid, gid, 5, QY__KIND__JOIN, now - 300, "lf-rejoin");
    rejoin->channel_id = 42;
    s_count1 (rejoin);
    s_count1 (s_ev (s_bid, gid, 5, QY__KIND__LEAVE, now - 1200, "lf-old-leave"));
    s_check_int ("rejoin, then an older leave: member in", s_redis_int ("HGET %s %s", mkey, "in"), 1);
}

//  11 and minor. A rejected event is not run again by the batch's retry;
//  a late violation does not move the last one back.
static void s_retry (int64_t gid, int64_t now)
{
    s_used = 0;
    int32_t today = qy_day_of (now * 1000000, 0);
    char key [96], cmd [160];
    //  The authors hash of the day is a string: the script fails after counting the message.
    qy_snprintf (cmd, sizeof (cmd), "SET sc:w:{g:%lld}:%d broken", (long long) gid, today);
    s_redis_do (cmd);
    Qy__Event *evs [2] = { s_ev (s_bid, gid, 1, QY__KIND__TEXT, now - 60, "rt-1"),
                           s_ev (s_bid, gid, 2, QY__KIND__JOIN, now - 50, "rt-2") };
    scoring_outcome_t out [2];
    Qy__Standing st [2];
    s_count (evs, 2, out);
    s_check_int ("broken key: rejected", out [0], SCORING_REJECTED);
    qy_snprintf (key, sizeof (key), "sc:g:{g:%lld}:%d", (long long) gid, today);
    long long before = s_redis_int ("HGET %s %s", key, "msgs");
    s_check_int ("broken key: the join counted", out [1], SCORING_COUNTED);
    //  The batch is retried (the join got no answer, say): only that one is sent again.
    out [1] = SCORING_PENDING;
    scoring_count_batch (&s_cfg, s_redis, s_brands, evs, st, out, 2);
    s_check_int ("retry: the rejected event's partial counts not repeated", s_redis_int ("HGET %s %s", key, "msgs"),
                 before);
    qy_snprintf (cmd, sizeof (cmd), "DEL sc:w:{g:%lld}:%d", (long long) gid, today);
    s_redis_do (cmd);

    Qy__Verdict v = QY__VERDICT__INIT;
    v.action = QY__ACTION__WARN;
    v.violation_id = 1;
    Qy__Event *late = s_ev (s_bid, gid, 3, QY__KIND__TEXT, now - 40, "vd-1"),
              *early = s_ev (s_bid, gid, 3, QY__KIND__TEXT, now - 5 * 86400, "vd-2");
    late->verdict = early->verdict = &v;
    s_count1 (late);
    s_count1 (early);
    qy_snprintf (key, sizeof (key), "sc:u:{g:%lld}:3", (long long) gid);
    s_check_int ("an older violation keeps the last violation day", s_redis_int ("HGET %s %s", key, "vd"), today);
}

//  The evaluation: 7 (silent members renewed), 8 (old cohorts folded),
//  4 (a state hash it makes expires; a group whose keys are gone is
//  dropped), 12 (a state whose signal was not sent is not recorded).
static void s_evaluation (int64_t gid, int64_t gone_gid, int64_t now, const char *endpoint)
{
    s_used = 0;
    int32_t today = qy_day_of (now * 1000000, 0);
    //  Member 8 joined 20 days ago and never spoke: a lurker to be.
    Qy__Event *join = s_ev (s_bid, gid, 8, QY__KIND__JOIN, now - 20 * 86400, "ev-join");
    join->channel_id = 3;
    s_count1 (join);
    char mkey [96], chkey [96], skey [96], cmd [256];
    qy_snprintf (mkey, sizeof (mkey), "sc:u:{g:%lld}:8", (long long) gid);
    qy_snprintf (chkey, sizeof (chkey), "sc:ch:{g:%lld}", (long long) gid);
    qy_snprintf (skey, sizeof (skey), "sc:gs:{g:%lld}", (long long) gid);
    qy_snprintf (cmd, sizeof (cmd), "EXPIRE %s 1000", mkey);       //  silent for almost members.ttl_days
    s_redis_do (cmd);
    //  A cohort of 60 days ago: 4 joins, 1 left within 7 days, 2 within 30.
    qy_snprintf (cmd, sizeof (cmd), "HSET %s 3:j:%d 4 3:l7:%d 1 3:l30:%d 2", chkey, today - 60, today - 60, today - 60);
    s_redis_do (cmd);
    qy_snprintf (cmd, sizeof (cmd), "SADD sc:groups %lld:%lld", (long long) s_bid, (long long) gone_gid);
    s_redis_do (cmd);

    void *ctx = zmq_ctx_new ();
    //  Nobody there: the outlet never learns the bus's epoch, sends cannot go out.
    qy_outlet_t *push = qy_outlet_new (ctx, endpoint, 100, "campaign");
    int zero = 0;
    scoring_eval_config_t ecfg = { .half_short_s = s_cfg.half_short_s, .half_long_s = s_cfg.half_long_s,
                                   .member_ttl_s = s_cfg.member_ttl_s, .lease_ms = 1, .signals = push,
                                   .alerts = push };
    scoring_eval_t *eval = scoring_eval_new (&ecfg, s_redis, s_pg, s_brands);
    //  A stopping service whose campaign hop is full: the signal fails.
    qy_service_request_stop ();
    bool more;
    int n = scoring_eval_run (eval, 10000, &more);
    s_check ("evaluation ran", n >= 1);
    s_check ("signal not sent: the state is not recorded",
             s_redis_int ("HEXISTS %s %s", mkey, "st") == 0);
    long long ttl = s_redis_int ("TTL %s", mkey, NULL);
    s_check ("a silent member in the group is renewed", ttl > 1000);
    s_check ("the state hash the evaluation made expires", s_redis_int ("TTL %s", skey, NULL) > 0);
    char seen [64];
    qy_snprintf (seen, sizeof (seen), "%lld:%lld", (long long) s_bid, (long long) gone_gid);
    s_check_int ("a group with no keys left is no longer evaluated", s_redis_int ("SISMEMBER %s %s", "sc:groups", seen),
                 0);
    char field [32];
    qy_snprintf (field, sizeof (field), "3:j:%d", today - 60);
    s_check_int ("a cohort older than 30 days folded", s_redis_int ("HEXISTS %s %s", chkey, field), 0);
    s_check_int ("… into the running totals", s_redis_int ("HGET %s %s", chkey, "3:m30"), 4);
    char sql [256];
    qy_snprintf (sql, sizeof (sql), "SELECT matured30 * 100 + retained30 FROM channel_group_stats WHERE group_id = %lld "
                 "AND channel_id = 3", (long long) gid);
    s_check_int ("channel retention as before folding (matured30, retained30)", s_pg_int (sql), 4 * 100 + 2);

    //  The hop is there again: the signal goes out and the state is recorded.
    void *pull = zmq_socket (ctx, ZMQ_ROUTER);          //  as the bus's front: says its epoch, acknowledges
    zmq_setsockopt (pull, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_bind (pull, endpoint);
    for (int i = 0; i < 50 && s_redis_int ("HEXISTS %s %s", mkey, "st") == 0; i++) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        qy_outlet_tap (pull, &m, 100);
        zmq_msg_close (&m);
        qy_snprintf (cmd, sizeof (cmd), "DEL sc:lock:{g:%lld}", (long long) gid);
        s_redis_do (cmd);
        scoring_eval_run (eval, 10000, &more);
    }
    s_check ("signal sent: the state is recorded", s_redis_int ("HEXISTS %s %s", mkey, "st") == 1);
    scoring_eval_destroy (&eval);
    qy_outlet_destroy (&push);
    zmq_close (pull);
    zmq_ctx_term (ctx);
}

//  Changed-only rounds: after the first round (a sweep of every group), a
//  round evaluates only the groups the roll-up marked, and a sweep again
//  every sweep_every rounds.
static void s_changed_only (int64_t gid, const char *endpoint)
{
    void *ctx = zmq_ctx_new ();
    qy_outlet_t *push = qy_outlet_new (ctx, endpoint, 100, "campaign");
    scoring_eval_config_t ecfg = { .half_short_s = s_cfg.half_short_s, .half_long_s = s_cfg.half_long_s,
                                   .member_ttl_s = s_cfg.member_ttl_s, .lease_ms = 1, .sweep_every = 3,
                                   .signals = push, .alerts = push };
    scoring_eval_t *eval = scoring_eval_new (&ecfg, s_redis, s_pg, s_brands);
    char mark [64], cmd [160];
    qy_snprintf (mark, sizeof (mark), "%lld:%lld", (long long) s_bid, (long long) gid);
    qy_snprintf (cmd, sizeof (cmd), "SADD %s %s", SCORING_EVAL_QUEUE_KEY, mark);
    s_redis_do (cmd);
    int got [4] = { 0 };
    bool more;
    for (int round = 0; round < 4; round++) {
        if (round == 2)
            s_redis_do (cmd);       //  the roll-up wrote the group's counts
        qy_snprintf (mark, sizeof (mark), "DEL sc:lock:{g:%lld}", (long long) gid);
        s_redis_do (mark);
        int n = 0;
        do {
            int x = scoring_eval_run (eval, 10000, &more);
            n += x > 0 ? x : 0;
        } while (more);
        got [round] = n;
    }
    s_check ("changed-only: the first round sweeps every group", got [0] >= 1);
    s_check_int ("changed-only: a round with no change evaluates nothing", got [1], 0);
    s_check_int ("changed-only: a round evaluates the group marked", got [2], 1);
    s_check ("changed-only: the third round after a sweep sweeps again", got [3] >= 1);
    s_check_int ("changed-only: the marks are taken", s_redis_int ("SCARD %s", SCORING_EVAL_QUEUE_KEY, NULL), 0);
    scoring_eval_destroy (&eval);
    qy_outlet_destroy (&push);
    zmq_ctx_term (ctx);
}

//  One key's content as a line: its name with the group's tag as {g:G},
//  then a set's members (sorted), or a hash's fields and values, or a
//  sorted set's members and scores.
static int s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  A key's content: a set sorted, a hash's or sorted set's pairs sorted by
//  field (the order a hash was written in is no part of what it holds).
static void s_dump_key (const char *key, const char *tag, qy_buf_t *out)
{
    redisReply *r = qy_redis_cmd (s_redis, "SORT %s ALPHA", key);
    bool pairs = r && r->type == REDIS_REPLY_ERROR;
    if (pairs) {
        freeReplyObject (r);
        r = qy_redis_cmd (s_redis, strncmp (key, "sc:lb:", 6) == 0 ? "ZRANGE %s 0 -1 WITHSCORES" : "HGETALL %s", key);
    }
    const char *at = strstr (key, tag);
    qy_buf_printf (out, "%.*s{g:G}%s:", (int) (at - key), key, at + strlen (tag));
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0, step = pairs ? 2 : 1;
    char **items = qy_calloc (n + 1, sizeof (char *));
    for (size_t i = 0; i + step <= n; i += step)
        items [i / step] = pairs ? qy_printf ("%s %s", r->element [i]->str, r->element [i + 1]->str)
                                 : qy_strdup (r->element [i]->str);
    qsort (items, n / step, sizeof (char *), s_cmp_str);
    for (size_t i = 0; i < n / step; i++) {
        qy_buf_printf (out, " %s", items [i]);
        free (items [i]);
    }
    free (items);
    qy_buf_printf (out, "\n");
    if (r)
        freeReplyObject (r);
}

//  Every key of a group's count on day, and its members' hashes.
static void s_dump (int64_t gid, int32_t day, const char *const *members, qy_buf_t *out)
{
    char tag [32], key [96];
    qy_snprintf (tag, sizeof (tag), "{g:%lld}", (long long) gid);
    const char *of_day [] = { "g", "m", "w", "e", "ids" }, *of_group [] = { "gs", "uid", "ch", "r", "mem", "lb" };
    for (size_t k = 0; k < QY_ARRAY_LEN (of_day); k++) {
        qy_snprintf (key, sizeof (key), "sc:%s:%s:%d", of_day [k], tag, (int) day);
        s_dump_key (key, tag, out);
    }
    for (size_t k = 0; k < QY_ARRAY_LEN (of_group); k++) {
        qy_snprintf (key, sizeof (key), "sc:%s:%s", of_group [k], tag);
        s_dump_key (key, tag, out);
    }
    for (size_t m = 0; members [m]; m++) {
        qy_snprintf (key, sizeof (key), "sc:u:%s:%s", tag, members [m]);
        s_dump_key (key, tag, out);
    }
}

//  13. A batch counts exactly as its events one at a time: the same
//  events (questions and answers, quotes, mentions, a join, a leave, a bot
//  post and the responses to it, a violation, an id twice) in group a one
//  per call, and in groups b and c interleaved in one batch (on a single
//  Redis one call for both groups) leave the same keys and standings.
static void s_batched (int64_t ga, int64_t gb, int64_t gc, int64_t now)
{
    static const struct { int64_t member; Qy__Kind kind; int ref, mention; const char *text; } script [] = {
        { 1, QY__KIND__TEXT, -1, 0, "这个活动什么时候开始？" }, { 2, QY__KIND__TEXT, 0, 0, "明天上午十点开始，记得早点来排队哦" },
        { 5, QY__KIND__JOIN, -1, 0, NULL }, { 5, QY__KIND__TEXT, -1, 1, "大家好" }, { 1, QY__KIND__TEXT, -1, 0, "好的" },
        { 4, QY__KIND__LEAVE, -1, 0, NULL }, { 1, QY__KIND__TEXT, -1, 0, "好的" }, { 3, QY__KIND__TEXT, -1, 0, "有赠品吗？" },
        { 9, QY__KIND__TEXT, -1, 0, "新品上架" }, { 2, QY__KIND__TEXT, 7, 2, "有的，满两百送一个包包，数量有限先到先得" },
        { 3, QY__KIND__TEXT, -1, 0, "谢谢" }, { 4, QY__KIND__TEXT, -1, 0, "我回来了" } };
    const size_t n = QY_ARRAY_LEN (script);
    static char *mention [3] = { NULL, "u1", "u2" };
    Qy__Verdict v = QY__VERDICT__INIT;
    v.action = QY__ACTION__WARN;
    v.violation_id = 1;
    s_used = 0;
    Qy__Event *evs [3][16];
    for (int g = 0; g < 3; g++)
        for (size_t i = 0; i < n; i++) {
            char id [48];
            //  The 7th repeats the 5th's id: a redelivery inside the batch.
            //  The same ids in both groups (ids are counted per group).
            qy_snprintf (id, sizeof (id), "bt-%zu", i == 6 ? 4 : i);
            Qy__Event *ev = evs [g][i] = s_ev (s_bid, g == 0 ? ga : g == 1 ? gb : gc, script [i].member, script [i].kind,
                                                now - 600 + (int64_t) i * 10, id);
            ev->text = (char *) script [i].text;
            ev->channel_id = script [i].kind == QY__KIND__JOIN ? 7 : 0;
            ev->role = script [i].member == 9 ? QY__ROLE__BOT : QY__ROLE__MEMBER;
            ev->ref_msg_id = script [i].ref >= 0 ? s_ids [g * n + (size_t) script [i].ref] : NULL;
            ev->n_mentions = script [i].mention ? 1 : 0;
            ev->mentions = &mention [script [i].mention];
            ev->verdict = i == 10 ? &v : NULL;
        }
    Qy__Standing st [2][16], stbc [32];
    scoring_outcome_t out [2][16], outbc [32], again [32];
    Qy__Event *bc [32];
    for (size_t i = 0; i < n; i++) {
        out [0][i] = outbc [2 * i] = outbc [2 * i + 1] = SCORING_PENDING;
        scoring_count_batch (&s_cfg, s_redis, s_brands, &evs [0][i], &st [0][i], &out [0][i], 1);
        bc [2 * i] = evs [1][i];
        bc [2 * i + 1] = evs [2][i];
    }
    scoring_count_batch (&s_cfg, s_redis, s_brands, bc, stbc, outbc, 2 * n);
    s_count (bc, 2 * n, again);
    bool counted = true, standing = true;
    for (size_t i = 0; i < 2 * n; i++) {
        size_t k = i / 2;
        counted = counted && out [0][k] == (k == 6 ? SCORING_SEEN : SCORING_COUNTED) && outbc [i] == out [0][k]
               && again [i] == SCORING_SEEN;
        const Qy__Standing *x = &st [0][k], *y = &stbc [i];
        standing = standing && x->member_msgs_today == y->member_msgs_today
                && x->group_msgs_today == y->group_msgs_today && x->group_active_today == y->group_active_today
                && x->trust_level == y->trust_level && strcmp (x->group_state, y->group_state) == 0
                && strcmp (x->member_state, y->member_state) == 0;
    }
    s_check ("batched: each event counted once, the one repeated seen; all seen when sent again", counted);
    s_check ("batched: each event's standing as when counted one at a time", standing);
    const char *members [] = { "1", "2", "3", "4", "5", "9", NULL };
    qy_buf_t a, b, c;
    qy_buf_init (&a);
    qy_buf_init (&b);
    qy_buf_init (&c);
    int32_t day = qy_day_of (now * 1000000, 0);
    s_dump (ga, day, members, &a);
    s_dump (gb, day, members, &b);
    s_dump (gc, day, members, &c);
    bool same = a.len > 200 && strcmp (a.data, b.data) == 0 && strcmp (a.data, c.data) == 0;
    s_check ("batched: every key of both groups as when counted one at a time", same);
    if (!same)
        printf ("one at a time:\n%s\nbatched:\n%s\n%s\n", a.data, b.data, c.data);
    qy_buf_free (&a);
    qy_buf_free (&b);
    qy_buf_free (&c);
}

int main (int argc, char **argv)
{
    if (argc < 3 + 1 + 8) {
        fprintf (stderr, "usage: scoring_counts REDIS_PORT PG_DSN BRAND_ID G1 … G8\n");
        return 2;
    }
    s_redis = qy_redis_new ("127.0.0.1", atoi (argv [1]));
    s_pg = qy_pg_new (argv [2]);
    s_bid = atoll (argv [3]);
    int64_t g [8];
    for (int i = 0; i < 8; i++)
        g [i] = atoll (argv [4 + i]);
    s_brands = scoring_brands_new (s_pg);
    int64_t now = qy_now_us () / 1000000;
    s_many_brands (g [0], now);
    s_old_events (g [1], now);
    s_refused_rollup (g [2], now);
    s_round_rollup (g [2], now);
    s_expiry (g [3], now);
    s_leave_first (g [4], now);
    s_retry (g [5], now);
    char endpoint [64];
    qy_snprintf (endpoint, sizeof (endpoint), "ipc:///tmp/qy-scoring-counts-%d", (int) getpid ());
    s_evaluation (g [6], g [7], now, endpoint);
    s_changed_only (g [6], endpoint);
    //  The socket's file: each run's pid names a new one, which would pile up in /tmp.
    remove (endpoint + strlen ("ipc://"));
    //  Two groups of their own (Redis only: never rolled up here).
    s_batched (g [7] + 1000001, g [7] + 1000002, g [7] + 1000003, now);
    scoring_brands_destroy (&s_brands);
    qy_redis_destroy (&s_redis);
    qy_pg_destroy (&s_pg);
    return s_failed;
}
