//  campaign_triggers' C half: the campaign library (planner, runner, event
//  handler) against a real PostgreSQL (argv[1], a freshly migrated
//  database), on a campaign clock this program sets itself, with a send
//  function that records what would go to notifier. Each check sets up its
//  own groups and campaigns (the others' are disabled) and looks at the
//  rows the library leaves:
//
//    silence   every step of a spell is planned (day 2 too), every targeted
//              member is found however many members the brand has, and a
//              member the roll-up still thinks silent but who spoke since
//              is not greeted;
//    board     a leaderboard deferred past midnight by quiet hours ranks the
//              day it was planned for;
//    cap       a step about a member that does not name them still counts
//              against the member's weekly cap;
//    failures  a job failing after its post was handed over is recorded as
//              sent, a job failing before is retried and cancelled only
//              after three attempts, and the rest of the batch goes out;
//    optout    an opt-out keyword in a message moderation recalled is heard;
//    contest   two entries of one member taken at once by two replicas
//              stay within max_entries;
//    leak      a planning round failing on the groups frees what it made
//              (seen by LeakSanitizer in the sanitizer build).
//
//  Prints one line per check and exits 1 when any fails.
#include "campaign.h"
#include "qy/log.h"
#include "qy/util.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_failed;
static PGconn *s_db;                 //  the test's own session (setup, checks, "the other replica")
static int64_t s_brand;
static char s_sent [256][160];       //  delivery keys handed to the fake notifier
static size_t s_nsent;

static void s_check (const char *what, bool ok)
{
    printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static PGresult *s_sql (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static PGresult *s_sql (const char *fmt, ...)
{
    char sql [4096];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (sql, sizeof (sql), fmt, ap);
    va_end (ap);
    PGresult *r = PQexec (s_db, sql);
    if (PQresultStatus (r) != PGRES_COMMAND_OK && PQresultStatus (r) != PGRES_TUPLES_OK) {
        fprintf (stderr, "setup failed: %s: %s", sql, PQresultErrorMessage (r));
        exit (2);
    }
    return r;
}

//  The first value of a query, as text (static buffer; "" when no row).
static const char *s_val (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static const char *s_val (const char *fmt, ...)
{
    static char out [1024];
    char sql [4096];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (sql, sizeof (sql), fmt, ap);
    va_end (ap);
    PGresult *r = s_sql ("%s", sql);
    snprintf (out, sizeof (out), "%s", PQntuples (r) ? PQgetvalue (r, 0, 0) : "");
    PQclear (r);
    return out;
}

static int64_t s_int (const char *sql)
{
    return strtoll (s_val ("%s", sql), NULL, 10);
}

static int s_send (void *arg, const Qy__Delivery *d)
{
    (void) arg;
    if (s_nsent < QY_ARRAY_LEN (s_sent))
        snprintf (s_sent [s_nsent++], sizeof (s_sent [0]), "%s", d->key);
    return 0;
}

static bool s_was_sent (const char *key)
{
    for (size_t i = 0; i < s_nsent; i++)
        if (strcmp (s_sent [i], key) == 0)
            return true;
    return false;
}

//  Move the campaign clock to a local time of the brand (+08:00).
static void s_at (campaign_ctx_t *ctx, int y, int m, int d, int hh, int mm)
{
    ctx->clock.offset_us = campaign_local_us (campaign_days_from_civil (y, m, d), hh * 60 + mm, 480) - qy_now_us ();
}

static int64_t s_group (const char *code, const char *tag)
{
    char sql [512];
    snprintf (sql, sizeof (sql), "INSERT INTO groups (brand_id, code, name, tags, created_at) "
              "VALUES (%lld, '%s', '%s群', '{%s}', '2025-11-01 10:00+08') RETURNING id", (long long) s_brand, code, code, tag);
    return s_int (sql);
}

static int64_t s_member (const char *user, int64_t group_id)
{
    char sql [512];
    snprintf (sql, sizeof (sql), "INSERT INTO members (brand_id, user_id, nickname) VALUES (%lld, '%s', '%s') RETURNING id",
              (long long) s_brand, user, user);
    int64_t id = s_int (sql);
    PQclear (s_sql ("INSERT INTO memberships (brand_id, group_id, member_id, joined_at) VALUES (%lld, %lld, %lld, '2025-11-20 12:00+08')",
                    (long long) s_brand, (long long) group_id, (long long) id));
    return id;
}

//  Add a campaign (a definition file's campaign object) and leave only the
//  listed ones enabled.
static int64_t s_campaign (const char *name, const char *json)
{
    char bid [24];
    snprintf (bid, sizeof (bid), "%lld", (long long) s_brand);
    const char *q [] = { bid, name, json };
    PGresult *r = PQexecParams (s_db, "INSERT INTO campaigns (brand_id, name, trigger, template, definition) "
                                   "VALUES ($1, $2, 'x', '', $3::jsonb) RETURNING id", 3, NULL, q, NULL, NULL, 0);
    if (PQresultStatus (r) != PGRES_TUPLES_OK) {
        fprintf (stderr, "campaign %s: %s", name, PQresultErrorMessage (r));
        exit (2);
    }
    int64_t id = strtoll (PQgetvalue (r, 0, 0), NULL, 10);
    PQclear (r);
    return id;
}

static void s_only (campaign_ctx_t *ctx, const char *names)
{
    PQclear (s_sql ("UPDATE campaigns SET enabled = name = ANY ('{%s}'::text[]) WHERE brand_id = %lld", names, (long long) s_brand));
    campaign_store_invalidate (ctx->store);
}

static Qy__Event s_event (const char *msg_id, Qy__Kind kind, int64_t group_id, int64_t member_id, const char *text, int64_t at)
{
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "beta";
    ev.brand_id = s_brand;
    ev.msg_id = (char *) msg_id;
    ev.kind = kind;
    ev.role = QY__ROLE__MEMBER;
    ev.group_id = group_id;
    ev.member_id = member_id;
    ev.group = "g";
    ev.member = "u";
    ev.text = (char *) (text ? text : "");
    ev.event_time_us = at;
    return ev;
}

static const char *s_job (int64_t campaign_id, const char *what)
{
    return s_val ("SELECT %s FROM campaign_jobs WHERE campaign_id = %lld ORDER BY step, id LIMIT 1", what, (long long) campaign_id);
}

// ------------------------------------------------------------------ checks

static void s_silence (campaign_ctx_t *ctx)
{
    //  Made first, so their ids come first: 5,001 silent members of a group
    //  the campaigns do not target, then 1,200 in one they do.
    int64_t other = s_group ("p0", "none"), paged = s_group ("p1", "t2");
    int64_t steps = s_group ("s1", "t1"), stale = s_group ("s8", "t8");
    const char *ins =
        "WITH m AS (INSERT INTO members (brand_id, user_id) SELECT %lld, '%s' || i FROM generate_series (1, %d) i RETURNING id) "
        "INSERT INTO memberships (brand_id, group_id, member_id, joined_at) SELECT %lld, %lld, id, '2025-12-01 12:00+08' FROM m";
    PQclear (s_sql (ins, (long long) s_brand, "p0-", 5001, (long long) s_brand, (long long) other));
    PQclear (s_sql (ins, (long long) s_brand, "p1-", 1200, (long long) s_brand, (long long) paged));
    //  Last spoke on 12-01 (scoring's roll-up): silent three days on 12-04.
    int64_t a = s_member ("sa", steps), h = s_member ("sh", stale);
    PQclear (s_sql ("INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages) VALUES "
                    "(%lld, %lld, %lld, '2025-12-01', 3), (%lld, %lld, %lld, '2025-12-01', 3)",
                    (long long) s_brand, (long long) steps, (long long) a, (long long) s_brand, (long long) stale, (long long) h));
    //  … but sh spoke on 12-03, which the roll-up has not counted yet.
    PQclear (s_sql ("SELECT qy_ensure_partition ('2025-12-03'); "
                    "INSERT INTO messages (brand_id, event_time, msg_id, group_id, member_id, kind, text) "
                    "VALUES (%lld, '2025-12-03 15:00+08', 'sh-1', %lld, %lld, 'text', '在的')",
                    (long long) s_brand, (long long) stale, (long long) h));
    int64_t c1 = s_campaign ("s-steps", "{\"name\": \"s-steps\", \"target\": {\"group_tags\": [\"t1\"]}, "
        "\"trigger\": {\"type\": \"silence\", \"days\": 3}, \"steps\": [{\"at\": \"10:00\", \"template\": \"{nickname}，好久不见\"}, "
        "{\"day\": 2, \"at\": \"10:00\", \"template\": \"{nickname}，送你一张券\"}]}");
    int64_t c2 = s_campaign ("s-page", "{\"name\": \"s-page\", \"target\": {\"group_tags\": [\"t2\"]}, "
        "\"trigger\": {\"type\": \"silence\", \"days\": 3}, \"steps\": [{\"at\": \"10:00\", \"template\": \"好久不见\"}]}");
    int64_t c8 = s_campaign ("s-stale", "{\"name\": \"s-stale\", \"target\": {\"group_tags\": [\"t8\"]}, "
        "\"trigger\": {\"type\": \"silence\", \"days\": 3}, \"steps\": [{\"at\": \"10:00\", \"template\": \"好久不见\"}]}");
    s_only (ctx, "s-steps,s-page,s-stale");
    s_at (ctx, 2025, 12, 4, 9, 0);
    s_check ("silence: planning round", campaign_plan (ctx) >= 0);
    char sql [256];
    snprintf (sql, sizeof (sql), "SELECT count (*) FROM campaign_jobs WHERE campaign_id = %lld", (long long) c1);
    s_check ("silence: both steps of the spell planned", s_int (sql) == 2);
    s_check ("silence: day 2 due on 12-06 10:00",
             strcmp (s_val ("SELECT to_char (due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM campaign_jobs "
                            "WHERE campaign_id = %lld AND step = 1", (long long) c1), "12-06 10:00") == 0);
    snprintf (sql, sizeof (sql), "SELECT count (*) FROM campaign_jobs WHERE campaign_id = %lld", (long long) c2);
    s_check ("silence: every targeted member of a large brand planned (1200)", s_int (sql) == 1200);
    s_at (ctx, 2025, 12, 4, 10, 1);
    while (campaign_run (ctx) >= ctx->batch)
        ;
    s_check ("silence: a member who spoke since the roll-up is not greeted",
             strcmp (s_job (c8, "status || '/' || coalesce (guard, '-')"), "cancelled/not_silent") == 0);
    s_check ("silence: the silent member is greeted", strcmp (s_job (c1, "status"), "sent") == 0);
    s_at (ctx, 2025, 12, 6, 10, 1);
    campaign_run (ctx);
    s_check ("silence: day 2 sent on 12-06",
             strcmp (s_val ("SELECT status FROM campaign_jobs WHERE campaign_id = %lld AND step = 1", (long long) c1), "sent") == 0);
}

static void s_board (campaign_ctx_t *ctx)
{
    int64_t g = s_group ("l1", "t3");
    int64_t b = s_member ("lb", g);
    int64_t c = s_campaign ("board", "{\"name\": \"board\", \"target\": {\"group_tags\": [\"t3\"]}, "
        "\"trigger\": {\"type\": \"checkin\", \"keywords\": [\"签到\"], \"points\": 10}, "
        "\"steps\": [{\"kind\": \"ack\", \"template\": \"{list}\"}, {\"kind\": \"leaderboard\", \"at\": \"23:00\", \"top\": 5, "
        "\"template\": \"今日签到榜\\n{list}\"}]}");
    PQclear (s_sql ("INSERT INTO campaign_checkins (brand_id, campaign_id, group_id, member_id, day, streak, points, msg_id, at) "
                    "VALUES (%lld, %lld, %lld, %lld, '2025-12-05', 1, 10, 'ci-1', '2025-12-05 09:00+08')",
                    (long long) s_brand, (long long) c, (long long) g, (long long) b));
    s_only (ctx, "board");
    s_at (ctx, 2025, 12, 5, 21, 0);
    campaign_plan (ctx);
    s_at (ctx, 2025, 12, 5, 23, 1);
    campaign_run (ctx);
    s_check ("board: held by quiet hours", strcmp (s_job (c, "coalesce (guard, '-')"), "quiet_hours") == 0);
    s_at (ctx, 2025, 12, 6, 8, 1);
    campaign_run (ctx);
    s_check ("board: posted the next morning with 12-05's check-ins",
             strcmp (s_job (c, "status || ' ' || coalesce (text, '')"), "sent 今日签到榜\n1. lb 10分 连续1天") == 0);
}

static void s_cap (campaign_ctx_t *ctx)
{
    int64_t g = s_group ("w1", "t4");
    int64_t m = s_member ("wc", g);
    PQclear (s_sql ("INSERT INTO campaign_guards (brand_id, group_id, settings) VALUES (%lld, 0, '{\"member_per_week\": 1}')",
                    (long long) s_brand));
    int64_t a = s_campaign ("greet-a", "{\"name\": \"greet-a\", \"target\": {\"group_tags\": [\"t4\"]}, \"trigger\": {\"type\": \"join\"}, "
        "\"steps\": [{\"mention\": \"none\", \"template\": \"欢迎新朋友\"}]}");
    int64_t b = s_campaign ("greet-b", "{\"name\": \"greet-b\", \"target\": {\"group_tags\": [\"t4\"]}, \"trigger\": {\"type\": \"join\"}, "
        "\"steps\": [{\"mention\": \"subject\", \"template\": \"{nickname}，入群礼包已到账\"}]}");
    s_only (ctx, "greet-a,greet-b");
    s_at (ctx, 2025, 12, 7, 10, 0);
    Qy__Event ev = s_event ("wj1", QY__KIND__JOIN, g, m, NULL, ctx->clock.offset_us + qy_now_us ());
    s_check ("cap: join handled", campaign_on_event (ctx, &ev) == 0);
    s_at (ctx, 2025, 12, 7, 10, 1);
    campaign_run (ctx);
    s_check ("cap: the first campaign's post about the member went out", strcmp (s_job (a, "status"), "sent") == 0);
    s_check ("cap: the second campaign is held by the member's weekly cap",
             strcmp (s_job (b, "status || '/' || coalesce (guard, '-')"), "blocked/member_per_week") == 0);
    PQclear (s_sql ("DELETE FROM campaign_guards WHERE brand_id = %lld", (long long) s_brand));
}

static void s_failures (campaign_ctx_t *ctx)
{
    int64_t g = s_group ("f1", "t5");
    int64_t bad = s_member ("fd", g), good = s_member ("fe", g);
    int64_t j = s_campaign ("fail-join", "{\"name\": \"fail-join\", \"target\": {\"group_tags\": [\"t5\"]}, \"trigger\": {\"type\": \"join\"}, "
        "\"steps\": [{\"mention\": \"subject\", \"template\": \"欢迎{nickname}\"}]}");
    int64_t e = s_campaign ("fail-board", "{\"name\": \"fail-board\", \"target\": {\"group_tags\": [\"t5\"]}, "
        "\"trigger\": {\"type\": \"checkin\", \"keywords\": [\"打卡\"]}, "
        "\"steps\": [{\"kind\": \"ack\", \"template\": \"{list}\"}, {\"kind\": \"leaderboard\", \"at\": \"12:00\", \"template\": \"{list}\"}]}");
    //  Faults: recording whom fd's welcome contacted fails (after the post
    //  was handed over); closing the empty leaderboard fails (before).
    PQclear (s_sql ("CREATE FUNCTION qy_test_fail () RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$; "
                    "CREATE TRIGGER qy_test_contacts BEFORE INSERT ON campaign_contacts FOR EACH ROW "
                    "  WHEN (NEW.member_id = %lld) EXECUTE FUNCTION qy_test_fail (); "
                    "CREATE TRIGGER qy_test_close BEFORE UPDATE ON campaign_jobs FOR EACH ROW "
                    "  WHEN (NEW.guard = 'nothing_to_post') EXECUTE FUNCTION qy_test_fail ()", (long long) bad));
    s_only (ctx, "fail-join,fail-board");
    s_at (ctx, 2025, 12, 8, 11, 0);
    campaign_plan (ctx);
    s_at (ctx, 2025, 12, 8, 11, 59);
    int64_t at = ctx->clock.offset_us + qy_now_us ();
    Qy__Event e1 = s_event ("fj1", QY__KIND__JOIN, g, bad, NULL, at), e2 = s_event ("fj2", QY__KIND__JOIN, g, good, NULL, at);
    campaign_on_event (ctx, &e1);
    campaign_on_event (ctx, &e2);
    s_at (ctx, 2025, 12, 8, 12, 1);
    s_nsent = 0;
    campaign_run (ctx);
    char key [160];
    campaign_job_key (key, sizeof (key), j, 0, g, "j:fj1");
    s_check ("failures: the post handed over before the fault went out", s_was_sent (key));
    s_check ("failures: … and is recorded as sent, not cancelled",
             strcmp (s_val ("SELECT status FROM campaign_jobs WHERE delivery_key = '%s'", key), "sent") == 0);
    campaign_job_key (key, sizeof (key), j, 0, g, "j:fj2");
    s_check ("failures: the rest of the batch went out and stays sent",
             s_was_sent (key) && strcmp (s_val ("SELECT status FROM campaign_jobs WHERE delivery_key = '%s'", key), "sent") == 0);
    const char *what = "status || '/' || coalesce (guard, '-') || '/' || attempts";
    s_check ("failures: the job failing before its post is kept for another try",
             strcmp (s_val ("SELECT %s FROM campaign_jobs WHERE campaign_id = %lld AND step = 1", what, (long long) e),
                     "pending/-/1") == 0);
    campaign_run (ctx);
    s_check ("failures: … not before its retry time",
             strcmp (s_val ("SELECT attempts FROM campaign_jobs WHERE campaign_id = %lld AND step = 1", (long long) e), "1") == 0);
    s_at (ctx, 2025, 12, 8, 12, 3);
    campaign_run (ctx);
    s_at (ctx, 2025, 12, 8, 12, 7);
    campaign_run (ctx);
    s_check ("failures: … and cancelled after the third",
             strcmp (s_val ("SELECT %s FROM campaign_jobs WHERE campaign_id = %lld AND step = 1", what, (long long) e),
                     "cancelled/error/3") == 0);
    PQclear (s_sql ("DROP TRIGGER qy_test_contacts ON campaign_contacts; DROP TRIGGER qy_test_close ON campaign_jobs; "
                    "DROP FUNCTION qy_test_fail ()"));
}

static void s_optout (campaign_ctx_t *ctx)
{
    int64_t g = s_group ("o1", "t6");
    int64_t m = s_member ("of", g);
    s_only (ctx, "");
    s_at (ctx, 2025, 12, 9, 10, 0);
    Qy__Verdict v = QY__VERDICT__INIT;
    v.action = QY__ACTION__RECALL;
    Qy__Event ev = s_event ("oo1", QY__KIND__TEXT, g, m, "退订", ctx->clock.offset_us + qy_now_us ());
    ev.verdict = &v;
    s_check ("optout: handled", campaign_on_event (ctx, &ev) == 0);
    char sql [256];
    snprintf (sql, sizeof (sql), "SELECT count (*) FROM campaign_optouts WHERE member_id = %lld", (long long) m);
    s_check ("optout: heard though moderation recalled the message", s_int (sql) == 1);
}

typedef struct {
    campaign_ctx_t *ctx;
    Qy__Event      *ev;
    int             rc;
} s_race_t;

static void *s_race (void *arg)
{
    s_race_t *r = (s_race_t *) arg;
    r->rc = campaign_on_event (r->ctx, r->ev);
    return NULL;
}

static void s_contest (campaign_ctx_t *ctx)
{
    int64_t g = s_group ("c1", "t7");
    int64_t m = s_member ("cg", g);
    int64_t c = s_campaign ("contest", "{\"name\": \"contest\", \"target\": {\"group_tags\": [\"t7\"]}, "
        "\"trigger\": {\"type\": \"contest\", \"keywords\": [\"投稿\"], \"max_entries\": 1, \"fold_s\": 600}, "
        "\"steps\": [{\"kind\": \"ack\", \"template\": \"收到{count}份投稿\"}]}");
    s_only (ctx, "contest");
    s_at (ctx, 2025, 12, 10, 10, 0);
    //  The other replica, half-way through taking the member's first entry:
    //  it holds the (campaign, member) lock and has inserted, not committed.
    PQclear (s_sql ("BEGIN; SELECT pg_advisory_xact_lock (7405033, ((%lld::bigint * 1000003 + %lld::bigint) %% 2147483647)::int); "
                    "INSERT INTO campaign_entries (brand_id, campaign_id, group_id, member_id, msg_id, kind, text, at) "
                    "VALUES (%lld, %lld, %lld, %lld, 'ce1', 'text', '投稿 一', now ())",
                    (long long) c, (long long) m, (long long) s_brand, (long long) c, (long long) g, (long long) m));
    Qy__Event ev = s_event ("ce2", QY__KIND__TEXT, g, m, "投稿 二", ctx->clock.offset_us + qy_now_us ());
    s_race_t race = { ctx, &ev, -1 };
    pthread_t t;
    pthread_create (&t, NULL, s_race, &race);
    usleep (300 * 1000);
    PQclear (s_sql ("COMMIT"));
    pthread_join (t, NULL);
    s_check ("contest: second entry handled", race.rc == 0);
    char sql [256];
    snprintf (sql, sizeof (sql), "SELECT count (*) FROM campaign_entries WHERE campaign_id = %lld AND member_id = %lld",
              (long long) c, (long long) m);
    s_check ("contest: max_entries held with two replicas at once", s_int (sql) == 1);
}

static void s_leak (campaign_ctx_t *ctx)
{
    s_only (ctx, "board");
    //  The groups are locked away for longer than the planner waits.
    PGresult *r = qy_pg_exec (ctx->pg, "SET lock_timeout = '200ms'", 0, NULL);
    PQclear (r);
    PQclear (s_sql ("BEGIN; LOCK TABLE groups IN ACCESS EXCLUSIVE MODE"));
    s_check ("leak: a planning round without its groups fails", campaign_plan (ctx) < 0);
    PQclear (s_sql ("COMMIT"));
    r = qy_pg_exec (ctx->pg, "RESET lock_timeout", 0, NULL);
    PQclear (r);
}

int main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s DSN\n", argv [0]);
        return 2;
    }
    qy_log_init ("campaign-test", getenv ("QY_LOG_LEVEL") ? getenv ("QY_LOG_LEVEL") : "warn");
    s_db = PQconnectdb (argv [1]);
    if (PQstatus (s_db) != CONNECTION_OK) {
        fprintf (stderr, "connect: %s", PQerrorMessage (s_db));
        return 2;
    }
    s_brand = s_int ("INSERT INTO brands (code, name) VALUES ('beta', 'Beta') RETURNING id");
    qy_pg_t *pg = qy_pg_new (argv [1]);
    qy_pg_connect (pg);
    campaign_store_t *store = campaign_store_new (pg);
    campaign_ctx_t ctx = { pg, store, { 0, 0, 1.0 }, s_send, NULL, 86400, 21600, 100, 7, 10 };
    s_silence (&ctx);
    s_board (&ctx);
    s_cap (&ctx);
    s_failures (&ctx);
    s_optout (&ctx);
    s_contest (&ctx);
    s_leak (&ctx);
    campaign_store_destroy (&store);
    qy_pg_destroy (&pg);
    PQfinish (s_db);
    return s_failed;
}
