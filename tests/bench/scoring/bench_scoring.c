//  bench_scoring: what one message costs in Redis. Counts a synthetic
//  stream of chat (messages with quotes, mentions and questions, joins,
//  leaves) through scoring_count_batch, exactly as the service does (one
//  pipeline per batch), then counts it all again to show that a redelivered
//  event changes nothing. Prints events/s, µs per event, round trips per
//  event, Redis commands per event (INFO stats, script-inner calls
//  included), script calls per event, Redis's own CPU per event and this
//  process's (where the counting's decisions run), then each command's
//  calls and µs per event (a script's µs include its commands').
//    usage: bench_scoring [--check] [--port P] [--events N] [--groups G] [--members M] [--batch B]
//  --check: only check the options (run.sh, before it starts a Redis).
#include "scoring.h"
#include "qy/util.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const s_names [] = { "--port", "--events", "--groups", "--members", "--batch" };
#define S_USAGE "usage: bench_scoring [--check] [--port P] [--events N] [--groups G] [--members M] [--batch B]\n"

//  Only the options above, each with a positive number: --help or anything
//  else ends the program before it touches Redis.
static void s_check_args (int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        if (strcmp (argv [i], "--help") == 0 || strcmp (argv [i], "-h") == 0) {
            fputs (S_USAGE, stdout);
            exit (0);
        }
        bool known = false;
        for (size_t k = 0; k < sizeof (s_names) / sizeof (s_names [0]); k++)
            known = known || strcmp (argv [i], s_names [k]) == 0;
        char *end = NULL;
        long v = i + 1 < argc ? strtol (argv [i + 1], &end, 10) : 0;
        if (!known || !end || *end || v <= 0) {
            fprintf (stderr, "bench_scoring: %s %s\n" S_USAGE, known ? "needs a positive number:" : "unknown option",
                     argv [i]);
            exit (2);
        }
    }
}

static const char *s_opt (int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp (argv [i], name) == 0)
            return argv [i + 1];
    return def;
}

//  A figure from INFO section: the sum of the named fields, or of the
//  calls of the named commandstats rows ("cmdstat_evalsha:" → its calls=);
//  each name ends with its colon, so "cmdstat_eval:" is not "cmdstat_evalsha:".
static double s_info (qy_redis_t *redis, const char *section, const char *const *names, size_t nnames)
{
    redisReply *r = qy_redis_cmd (redis, "INFO %s", section);
    double sum = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        sum = 0;
        for (size_t i = 0; i < nnames; i++) {
            const char *p = strstr (r->str, names [i]);
            if (!p)
                continue;
            p += strlen (names [i]);
            if (strncmp (p, "calls=", 6) == 0)
                p += 6;
            sum += atof (p);
        }
    }
    if (r)
        freeReplyObject (r);
    return sum;
}

//  Each command's calls and time per event, from INFO commandstats
//  ("cmdstat_hget:calls=3,usec=5,…"), most time first as Redis lists them.
static void s_print_commandstats (qy_redis_t *redis, long n)
{
    redisReply *r = qy_redis_cmd (redis, "INFO commandstats");
    for (const char *p = r && r->type == REDIS_REPLY_STRING ? strstr (r->str, "cmdstat_") : NULL; p;
         p = strstr (p + 1, "cmdstat_")) {
        char name [64];
        long long calls = 0, usec = 0;
        if (sscanf (p, "cmdstat_%63[^:]:calls=%lld,usec=%lld", name, &calls, &usec) == 3)
            printf ("  %-20s %8.3f calls/event %7.2f µs/event\n", name, (double) calls / (double) n,
                    (double) usec / (double) n);
    }
    if (r)
        freeReplyObject (r);
}

static long long s_commands (qy_redis_t *redis)
{
    const char *f [] = { "total_commands_processed:" };
    return (long long) s_info (redis, "stats", f, 1);
}

//  Redis's own CPU (user + system, seconds) and the script calls so far.
static double s_cpu (qy_redis_t *redis)
{
    const char *f [] = { "used_cpu_sys:", "used_cpu_user:" };
    return s_info (redis, "cpu", f, 2);
}

//  This process's CPU so far (user + system, seconds).
static double s_own_cpu (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double s_scripts (qy_redis_t *redis)
{
    const char *f [] = { "cmdstat_evalsha:", "cmdstat_eval:", "cmdstat_fcall:" };
    return s_info (redis, "commandstats", f, 3);
}

int main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv [1], "--check") == 0) {
        s_check_args (argc - 1, argv + 1);
        return 0;
    }
    s_check_args (argc, argv);
    int port = atoi (s_opt (argc, argv, "--port", "6379"));
    long n = atol (s_opt (argc, argv, "--events", "200000"));
    int groups = atoi (s_opt (argc, argv, "--groups", "60"));
    int members = atoi (s_opt (argc, argv, "--members", "150"));
    int batch = atoi (s_opt (argc, argv, "--batch", "512"));
    qy_redis_t *redis = qy_redis_new ("127.0.0.1", port);
    scoring_brands_t *brands = scoring_brands_new (NULL);
    scoring_brand_t b = { .id = 1, .tz_offset_min = 480 };
    qy_strlcpy (b.code, "bench", sizeof (b.code));
    scoring_settings_default (&b.settings);
    scoring_brands_put (brands, &b);
    scoring_count_config_t cfg = { .ttl_s = 2 * 86400, .member_ttl_s = 3600, .half_short_s = 7 * 86400.0,
                                   .half_long_s = 30 * 86400.0, .reply_window_s = 120, .post_window_s = 7200,
                                   .substantial_chars = 20 };
    //  The stream: a day of chat spread over the groups, one event every
    //  few seconds per group; every 20th a join, every 50th a leave, every
    //  10th quotes the message before it, every 15th mentions someone.
    Qy__Event *evs = qy_calloc ((size_t) n, sizeof (Qy__Event));
    char **ids = qy_calloc ((size_t) n, sizeof (char *)), **users = qy_calloc ((size_t) n, sizeof (char *));
    char **mentions = qy_calloc ((size_t) n, sizeof (char *));
    int64_t t0 = 1790820000LL * 1000000;
    srand (7);
    for (long i = 0; i < n; i++) {
        Qy__Event *ev = &evs [i];
        qy__event__init (ev);
        int g = (int) (i % groups), m = rand () % members;
        ids [i] = qy_printf ("b%ld", i);
        users [i] = qy_printf ("u%d", m);
        ev->brand = "bench";
        ev->msg_id = ids [i];
        ev->member = users [i];
        ev->brand_id = 1;
        ev->group_id = 1 + g;
        ev->member_id = 1 + m;
        ev->event_time_us = t0 + (int64_t) i * 3000000 / groups * 1;
        ev->kind = i % 20 == 0 ? QY__KIND__JOIN : i % 50 == 1 ? QY__KIND__LEAVE : QY__KIND__TEXT;
        ev->channel_id = ev->kind == QY__KIND__JOIN ? 1 + i % 4 : 0;
        ev->text = i % 7 == 0 ? "这个活动什么时候开始？" : "好的，收到，谢谢大家的分享，下次再来看看";
        if (i % 10 == 3 && i >= groups)
            ev->ref_msg_id = ids [i - groups];
        if (i % 15 == 4) {
            mentions [i] = qy_printf ("u%d", rand () % members);
            ev->n_mentions = 1;
            ev->mentions = &mentions [i];
        }
    }
    Qy__Event **ptrs = qy_calloc ((size_t) batch, sizeof (Qy__Event *));
    Qy__Standing *st = qy_calloc ((size_t) batch, sizeof (Qy__Standing));
    scoring_outcome_t *out = qy_calloc ((size_t) batch, sizeof (*out));
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        redisReply *reset = qy_redis_cmd (redis, "CONFIG RESETSTAT");
        if (reset)
            freeReplyObject (reset);
        double cpu0 = s_cpu (redis), own0 = s_own_cpu ();
        long long c0 = s_commands (redis);
        int64_t start = qy_mono_us ();
        long dups = 0, trips = 0;
        for (long i = 0; i < n && rc == 0; i += batch) {
            size_t k = (size_t) (n - i < batch ? n - i : batch);
            for (size_t j = 0; j < k; j++)
                ptrs [j] = &evs [i + (long) j];
            for (size_t j = 0; j < k; j++)
                out [j] = SCORING_PENDING;
            if (scoring_count_batch (&cfg, redis, brands, ptrs, st, out, k)) {
                fprintf (stderr, "bench_scoring: Redis failed: %s\n", qy_redis_errstr (redis));
                rc = 1;
            }
            for (size_t j = 0; j < k; j++)
                if (out [j] == SCORING_SEEN)
                    dups++;
                else
                if (out [j] != SCORING_COUNTED) {
                    fprintf (stderr, "bench_scoring: event %s not counted (%d)\n", ptrs [j]->msg_id, (int) out [j]);
                    rc = 1;
                }
            trips++;
        }
        double secs = (double) (qy_mono_us () - start) / 1e6;
        long long c1 = s_commands (redis);
        double cpu1 = s_cpu (redis), own1 = s_own_cpu (), scripts = s_scripts (redis);
        //  The INFO call itself is one command.
        printf ("%s: %ld events in %.2f s = %.0f events/s, %.1f µs/event, %.4f round trips/event, "
                "%.1f Redis commands/event, %.4f script calls/event, Redis CPU %.1f µs/event, own CPU %.1f µs/event, "
                "%ld counted before\n",
                pass ? "redelivered" : "first pass", n, secs, (double) n / secs, secs * 1e6 / (double) n,
                (double) trips / (double) n, (double) (c1 - c0 - 1) / (double) n, scripts / (double) n,
                (cpu1 - cpu0) * 1e6 / (double) n, (own1 - own0) * 1e6 / (double) n, dups);
        s_print_commandstats (redis, n);
        if (pass == 1 && dups != n) {
            fprintf (stderr, "bench_scoring: a redelivered event was counted again (%ld of %ld seen)\n", dups, n);
            rc = 1;
        }
    }
    for (long i = 0; i < n; i++) {
        free (ids [i]);
        free (users [i]);
        free (mentions [i]);
    }
    free (ids);
    free (users);
    free (mentions);
    free (evs);
    free (ptrs);
    free (st);
    free (out);
    scoring_brands_destroy (&brands);
    qy_redis_destroy (&redis);
    return rc;
}
