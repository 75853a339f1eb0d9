//  notifier_claim's C half: the notifier's claim (notifier_store_claim)
//  against a real PostgreSQL (argv[1] is its DSN, migrated).
//    1. Claims of every size up to the cap take that many due deliveries,
//       most urgent first, the brands taking turns, none twice.
//    2. The claim is planned once per connection: its prepared form ran
//       its generic plan at every later claim and never a custom one
//       (PostgreSQL's default would plan each claim afresh: a LIMIT $1).
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
    qy_pg_destroy (&pg);
    return s_failed;
}
