//  notifier_claim's C half: the notifier's claim (notifier_store_claim)
//  against a real PostgreSQL (argv[1] is its DSN, migrated).
//    1. Claims of every size up to the cap take that many due deliveries,
//       most urgent first, the brands taking turns, none twice.
//    2. The claim is planned once per connection: its prepared form ran
//       its generic plan at every later claim and never a custom one
//       (PostgreSQL's default would plan each claim afresh: a LIMIT $1).
//    3. An insert that may claim (notifier_store_insert with a take) takes
//       the batch's first max new rows in the claim's order (actions
//       first, the brands taking turns), never a duplicate nor an alert to
//       a robot's webhook (digests fold those), as a claim leaves them
//       ('sending', leased, attempt 1); the rest stay pending, and no later
//       claim takes what the insert did.
//    4. Putting claimed deliveries back (notifier_store_defer_all, a limit
//       holding them) runs its generic plan at every call after the first.
//  Prints one line per check and exits 1 when any fails.
#include "notifier.h"
#include "qy/pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CAP    8
#define S_CLAIMS 12

static int s_failed;

static void s_check (const char *what, bool ok)
{
    printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static void s_setup (qy_pg_t *pg)
{
    const char *sql [] = {
        "INSERT INTO brands (code, name, gateway_url) SELECT 'claim' || i, 'Claim ' || i, 'http://127.0.0.1:9/' "
        "FROM generate_series (1, 3) i",
        //  200 due per brand: priority 0 for one in ten, 1 for the rest.
        "INSERT INTO deliveries (key, brand_id, kind, priority, payload, next_attempt_at) "
        "SELECT 'd' || b.id || ':' || i, b.id, 'action', CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END, '{}', "
        "       now () - interval '1 minute' + i * interval '1 ms' "
        "FROM brands b CROSS JOIN generate_series (1, 200) i WHERE b.code LIKE 'claim%'",
        "ANALYZE deliveries",
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (sql); i++)
        if (!qy_pg_run (pg, "setup", sql [i], 0, NULL, NULL))
            exit (2);
}

//  Part 3: 2 brands × (4 actions, 3 posts), 2 alerts and one key the
//  table already has, inserted with a take of 5.
static void s_insert_taking (qy_pg_t *pg)
{
    if (!qy_pg_run (pg, "setup", "INSERT INTO brands (code, name, gateway_url) SELECT 'take' || i, 'Take ' || i, "
                                 "'http://127.0.0.1:9/' FROM generate_series (1, 2) i", 0, NULL, NULL))
        exit (2);
    PGresult *res;
    if (!qy_pg_run (pg, "brands", "SELECT id FROM brands WHERE code LIKE 'take%' ORDER BY code", 0, NULL, &res))
        exit (2);
    int64_t brand [2] = { qy_pg_int (res, 0, 0), qy_pg_int (res, 1, 0) };
    PQclear (res);
    Qy__Delivery d [17], *ds [17];
    char keys [17][32];
    size_t n = 0;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 7; i++, n++) {
            qy__delivery__init (&d [n]);
            snprintf (keys [n], sizeof (keys [n]), "t%d:%s%d", b, i < 4 ? "a" : "p", i);
            d [n].kind = i < 4 ? "action" : "post";
            d [n].priority = i < 4 ? QY__PRIORITY__P_ACTION : QY__PRIORITY__P_CAMPAIGN;
        }
    for (int i = 0; i < 2; i++, n++) {
        qy__delivery__init (&d [n]);
        snprintf (keys [n], sizeof (keys [n]), "t%d:alert", i);
        d [n].kind = "alert";
        d [n].priority = QY__PRIORITY__P_ALERT;
    }
    //  A key part 1 made: a duplicate, neither new nor taken.
    if (!qy_pg_run (pg, "old", "SELECT key, brand_id FROM deliveries WHERE key LIKE 'd%' LIMIT 1", 0, NULL, &res))
        exit (2);
    qy__delivery__init (&d [n]);
    snprintf (keys [n], sizeof (keys [n]), "%s", PQgetvalue (res, 0, 0));
    int64_t old_brand = qy_pg_int (res, 0, 1);
    PQclear (res);
    d [n].kind = "action";
    d [n++].priority = QY__PRIORITY__P_ACTION;
    for (size_t i = 0; i < n; i++) {
        d [i].key = keys [i];
        d [i].brand_id = i < 14 ? brand [i / 7] : i < 16 ? brand [i - 14] : old_brand;
        d [i].brand = "take";
        ds [i] = &d [i];
    }
    notifier_insert_claim_t take = { .max = 5, .lease_s = 30 };
    int fresh = notifier_store_insert (pg, ds, n, &take);
    bool order = take.njobs == 5, mixed = true;
    for (int i = 0; order && i < take.njobs; i++) {
        order = take.jobs [i].priority == QY__PRIORITY__P_ACTION && take.jobs [i].attempts == 1
                && !take.jobs [i].in_doubt && take.jobs [i].url;
        mixed = mixed && (i == 0 || take.jobs [i].brand_id != take.jobs [i - 1].brand_id);
    }
    printf ("insert taking: fresh=%d taken=%d left=%d\n", fresh, take.njobs, take.left);
    s_check ("the insert took its max, actions first, as a claim leaves them", fresh == 16 && order && take.left == 11);
    s_check ("within the insert the brands take turns", mixed);
    notifier_jobs_free (take.jobs, take.njobs);
    bool ok = qy_pg_run (pg, "rows", "SELECT count (*) FILTER (WHERE status = 'sending' AND attempts = 1 "
                                     "                          AND lease_until > now () + interval '20 seconds') || ' ' || "
                                     "       count (*) FILTER (WHERE status = 'pending' AND attempts = 0) || ' ' || "
                                     "       count (*) FILTER (WHERE kind = 'alert' AND status = 'pending') "
                                     "FROM deliveries WHERE key LIKE 't_:%'", 0, NULL, &res);
    s_check ("5 rows leased, 11 pending, the alerts among them", ok && strcmp (PQgetvalue (res, 0, 0), "5 11 2") == 0);
    PQclear (res);
    //  Two more alerts, room for both: the one to the brand's gateway is
    //  taken, the one to a robot (its brand has a route) waits.
    char route [64];
    snprintf (route, sizeof (route), "%lld", (long long) brand [1]);
    const char *sql = "INSERT INTO alert_routes (brand_id, webhook_url) VALUES ($1, 'http://127.0.0.1:9/robot')";
    if (!qy_pg_run (pg, "route", sql, 1, (const char *[]) { route }, NULL))
        exit (2);
    for (int b = 0; b < 2; b++) {
        snprintf (keys [b], sizeof (keys [b]), "t%d:alert2", b);
        d [b].key = keys [b];
        d [b].brand_id = brand [b];
        d [b].kind = "alert";
        d [b].priority = QY__PRIORITY__P_ALERT;
    }
    take = (notifier_insert_claim_t) { .max = 8, .lease_s = 30 };
    fresh = notifier_store_insert (pg, ds, 2, &take);
    s_check ("an alert to the gateway taken, one to a robot left for the digests",
             fresh == 2 && take.njobs == 1 && take.left == 1 && take.jobs [0].brand_id == brand [0]
             && !take.jobs [0].webhook);
    notifier_jobs_free (take.jobs, take.njobs);
    //  A claim of everything due takes the 12 left, and none of the 6 again.
    notifier_job_t *jobs;
    int got = notifier_store_claim (pg, 1000, 1000, 30, NULL, &jobs), mine = 0, again = 0;
    for (int i = 0; i < got; i++)
        if (jobs [i].key [0] == 't') {
            mine++;
            again += jobs [i].attempts > 1;
        }
    notifier_jobs_free (jobs, got > 0 ? got : 0);
    printf ("claim after: %d of the insert's rows, %d taken twice\n", mine, again);
    s_check ("a claim takes what the insert left, not what it took", mine == 12 && again == 0);
}

//  Part 4: claimed and put back seven times; then the put-back's plans.
static void s_defer_plans (qy_pg_t *pg)
{
    //  Three due rows of their own (part 3's claim took every due row).
    if (!qy_pg_run (pg, "setup", "INSERT INTO deliveries (key, brand_id, kind, priority, payload) "
                                 "SELECT 'h' || i, b.id, 'post', 3, '{}' FROM brands b CROSS JOIN generate_series (1, 3) i "
                                 "WHERE b.code = 'claim1'", 0, NULL, NULL))
        exit (2);
    int deferred = 0;
    for (int c = 0; c < 7; c++) {
        notifier_job_t *jobs;
        int n = notifier_store_claim (pg, 3, S_CAP, 30, NULL, &jobs);
        const notifier_job_t *held [3];
        int64_t ms [3] = { 0 };
        const char *why [3] = { "test", "test", "test" };
        for (int i = 0; i < n; i++)
            held [i] = &jobs [i];
        deferred += n > 0 ? notifier_store_defer_all (pg, held, ms, why, (size_t) n) : 0;
        notifier_jobs_free (jobs, n > 0 ? n : 0);
    }
    PGresult *res = NULL;
    bool ok = qy_pg_run (pg, "plans", "SELECT generic_plans || ' ' || custom_plans FROM pg_prepared_statements "
                                      "WHERE statement LIKE 'UPDATE deliveries d SET status = ''pending''%'", 0, NULL, &res);
    const char *plans = ok && PQntuples (res) == 1 ? PQgetvalue (res, 0, 0) : "";
    printf ("put back %d; its plans (generic custom): %s\n", deferred, plans);
    s_check ("the put-back runs its generic plan at every later call", deferred == 21 && strcmp (plans, "6 0") == 0);
    PQclear (res);
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: notifier_claim DSN\n");
        return 2;
    }
    qy_pg_prepare_default (true);
    qy_pg_t *pg = qy_pg_new (argv [1]);
    s_setup (pg);
    int claimed = 0, wanted = 0, urgent_first = 1, turns = 1;
    qy_map_t *seen = qy_map_new ();
    bool twice = false;
    for (int c = 0; c < S_CLAIMS; c++) {
        int max = 1 + c % S_CAP;
        notifier_job_t *jobs;
        int n = notifier_store_claim (pg, max, S_CAP, 30, NULL, &jobs);
        wanted += max;
        claimed += n > 0 ? n : 0;
        for (int i = 0; i < n; i++) {
            twice = twice || qy_map_get (seen, jobs [i].key, NULL);
            qy_map_put (seen, jobs [i].key, 1);
            //  30 of the 600 are urgent: the first claims take only those.
            urgent_first = urgent_first && (claimed > 30 || jobs [i].priority == 0);
            //  Within a claim the brands take turns: no brand twice in a row.
            turns = turns && (i == 0 || jobs [i].brand_id != jobs [i - 1].brand_id || jobs [i].priority != jobs [i - 1].priority);
        }
        notifier_jobs_free (jobs, n);
    }
    s_check ("each claim took as many as asked", claimed == wanted);
    s_check ("no delivery claimed twice", !twice);
    s_check ("the most urgent first", urgent_first);
    s_check ("the brands take turns", turns);
    PGresult *res = NULL;
    bool ok = qy_pg_run (pg, "plans", "SELECT generic_plans || ' ' || custom_plans FROM pg_prepared_statements "
                                      "WHERE statement LIKE 'WITH RECURSIVE pb AS%'", 0, NULL, &res);
    char expect [32];
    snprintf (expect, sizeof (expect), "%d 0", S_CLAIMS - 1);      //  the first claim goes unnamed
    const char *plans = ok && PQntuples (res) == 1 ? PQgetvalue (res, 0, 0) : "";
    printf ("claim plans (generic custom): %s\n", plans);
    s_check ("the claim is planned once: its generic plan at every later claim", strcmp (plans, expect) == 0);
    PQclear (res);
    qy_map_destroy (&seen);
    s_insert_taking (pg);
    s_defer_plans (pg);
    qy_pg_destroy (&pg);
    return s_failed;
}
