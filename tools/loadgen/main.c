//  qy-loadgen: simulates a brand's gateways. Generates a day of events (see
//  sim.h), sends them to ingest in batches over ZeroMQ with a window of
//  batches in flight, at a given rate or as fast as ingest accepts, honours
//  retry_after, and says what it sent and what ingest answered.
#include "sim.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    size_t first, n;       //  slice of the event array
    int64_t sent_us;       //  0: not waiting for an answer
    int     tries;
    bool    answered;      //  a later answer (to a re-send) is not counted again
} s_batch_t;

static const char *s_opt (int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp (argv [i], name) == 0)
            return argv [i + 1];
    return def;
}

static void s_send (void *dealer, Qy__Event **evs, s_batch_t *b, int idx)
{
    char id [32];
    qy_snprintf (id, sizeof (id), "%d", idx);
    Qy__Batch batch = QY__BATCH__INIT;
    batch.batch_id = id;
    batch.gateway = "loadgen";
    batch.n_events = b->n;
    batch.events = evs + b->first;
    qy_zmq_send_pb (dealer, &batch.base, 0);
    b->sent_us = qy_mono_us ();
    b->tries++;
}

//  Every option takes a value. A tool never acts on an option it does not
//  know: a mistyped --day-groups would quietly generate another day.
static const char *s_options [] = { "--endpoint", "--brand", "--stores", "--groups", "--members", "--messages",
    "--rate", "--batch", "--window", "--ad-rate", "--flooder-rate", "--leave-rate", "--dup-rate", "--seed", "--run",
    "--day-offset", "--resend-ms", "--ids", "--truth", "--day-groups", "--seconds", NULL };

static void s_usage (FILE *out)
{
    fprintf (out, "usage: qy-loadgen [--endpoint E] [--brand B] [--stores S] [--groups G] [--members M]\n"
                     "                  [--messages N] [--rate EV_PER_S (0 = flat out)] [--batch N] [--window N]\n"
                     "                  [--ad-rate P] [--flooder-rate P] [--leave-rate P] [--dup-rate P] [--seed N] [--run ID] [--day-offset D]\n"
                     "                  [--resend-ms MS (a batch with no answer is sent again, as a gateway does)] [--ids FILE] [--truth FILE]\n"
                     "                  [--day-groups R (joins, leaves, staff posts and floods as R groups make them, spread over all)]\n"
                     "                  [--seconds S (no new batch after S seconds: what was sent is finished, and --ids lists it)]\n");
}

//  0 to go on, else the exit code: 0 after --help, 2 for what is not understood.
static int s_args_check (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv [i], "--help") == 0) {
            s_usage (stdout);
            return -1;
        }
    for (int i = 1; i < argc; i += 2) {
        size_t k = 0;
        while (s_options [k] && strcmp (s_options [k], argv [i]) != 0)
            k++;
        if (!s_options [k] || i + 1 >= argc) {
            fprintf (stderr, "qy-loadgen: %s %s\n", s_options [k] ? "no value for" : "unknown option", argv [i]);
            s_usage (stderr);
            return 2;
        }
    }
    return 0;
}

//  A run: the batches, the window in flight, the retries due and what
//  ingest answered.
typedef struct {
    Qy__Event **evs;
    s_batch_t  *batches;
    size_t      n, nb;              //  events and batches in the run (fewer once --seconds cut it short)
    size_t      next, done;         //  the next batch never sent; batches answered
    int         inflight, window;
    int        *retry_queue;        //  batches refused as busy, each due at retry_at
    int64_t    *retry_at;
    size_t      nretry;
    double      rate, sent_events;  //  events/s (0: flat out); events sent so far
    int64_t     t0, resend_us, next_scan;
    long        accepted, duplicate, rejected, busy, retries, resent;
} s_run_t;

//  Out of time: the batches not started are dropped from the run.
static void s_cut (s_run_t *r)
{
    r->nb = r->next;
    r->n = r->nb ? r->batches [r->nb - 1].first + r->batches [r->nb - 1].n : 0;
}

//  A batch with no answer (ingest died with it, or the answer was lost) is
//  sent again, as a real gateway does: ingest answers what it stored before
//  as duplicate. Then the window is filled: retries due first, then new
//  batches within the rate.
static void s_send_due (s_run_t *r, void *dealer, int64_t tnow)
{
    if (r->resend_us > 0 && tnow >= r->next_scan) {
        for (size_t b = 0; b < r->next; b++)
            if (!r->batches [b].answered && r->batches [b].sent_us && tnow - r->batches [b].sent_us > r->resend_us) {
                s_send (dealer, r->evs, &r->batches [b], (int) b);
                r->resent++;
            }
        r->next_scan = tnow + 500000;
    }
    while (r->inflight < r->window) {
        int pick = -1;
        for (size_t q = 0; q < r->nretry; q++)
            if (r->retry_at [q] <= tnow) {
                pick = r->retry_queue [q];
                r->retry_queue [q] = r->retry_queue [r->nretry - 1];
                r->retry_at [q] = r->retry_at [r->nretry - 1];
                r->nretry--;
                break;
            }
        if (pick < 0 && r->next < r->nb) {
            if (r->rate > 0 && r->sent_events > r->rate * (double) (tnow - r->t0) / 1e6)
                break;
            pick = (int) r->next++;
            r->sent_events += (double) r->batches [pick].n;
        }
        if (pick < 0)
            break;
        s_send (dealer, r->evs, &r->batches [pick], pick);
        r->inflight++;
    }
}

//  One answer from ingest. Returns 0, or -1 when ingest refused a batch
//  for good (not busy: the run cannot be what it was asked to be).
static int s_answer (s_run_t *r, const Qy__Ack *ack)
{
    int idx = atoi (ack->batch_id);
    if (idx < 0 || (size_t) idx >= r->nb || r->batches [idx].answered || !r->batches [idx].sent_us)
        return 0;       //  the answer to a re-send of what was answered
    r->inflight--;
    r->batches [idx].sent_us = 0;
    if (!ack->ok) {
        //  Busy or storage trouble: nothing was stored, send again later.
        r->busy += ack->retry_after_ms > 0;
        r->retries++;
        if (ack->retry_after_ms == 0) {
            fprintf (stderr, "qy-loadgen: batch %d refused: %s\n", idx, ack->error);
            return -1;
        }
        r->retry_queue [r->nretry] = idx;
        r->retry_at [r->nretry++] = qy_mono_us () + (int64_t) ack->retry_after_ms * 1000;
        return 0;
    }
    for (size_t i = 0; i < ack->n_results; i++) {
        Qy__ItemStatus st = ack->results [i]->status;
        r->accepted += st == QY__ITEM_STATUS__ACCEPTED;
        r->duplicate += st == QY__ITEM_STATUS__DUPLICATE;
        r->rejected += st == QY__ITEM_STATUS__REJECTED;
    }
    r->batches [idx].answered = true;
    r->done++;
    return 0;
}

//  Sends every batch and waits for every answer, within --seconds when
//  given. Returns 0, or 1 when ingest stopped answering or refused a batch.
static int s_run (s_run_t *r, void *dealer, const char *endpoint, int64_t until_us)
{
    int64_t last_ack = r->t0;
    while (r->done < r->nb) {
        int64_t tnow = qy_mono_us ();
        if (until_us > 0 && tnow - r->t0 >= until_us && r->next < r->nb) {
            s_cut (r);
            if (r->done >= r->nb)
                break;
        }
        s_send_due (r, dealer, tnow);
        zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, r->inflight ? 1000 : 1) <= 0) {
            if (r->inflight && qy_mono_us () - last_ack > 30 * 1000000LL) {
                fprintf (stderr, "qy-loadgen: no answer from ingest at %s for 30 s, giving up\n", endpoint);
                return 1;
            }
            continue;
        }
        zmq_msg_t m;
        zmq_msg_init (&m);
        zmq_msg_recv (&m, dealer, 0);
        Qy__Ack *ack = qy__ack__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
        zmq_msg_close (&m);
        last_ack = qy_mono_us ();
        if (!ack)
            continue;
        int rc = s_answer (r, ack);
        qy__ack__free_unpacked (ack, NULL);
        if (rc)
            return 1;
    }
    return 0;
}

//  The message ids sent, one a line (what an independent check expects in
//  the archive), and what each message was meant to be (sim_truth), one
//  "msg_id<TAB>kind" a line (what the demo's report compares moderation's
//  verdicts with).
static void s_write_lists (const s_run_t *r, const char *ids_path, const char *truth_path)
{
    FILE *ids = ids_path ? fopen (ids_path, "w") : NULL;
    for (size_t i = 0; ids && i < r->n; i++)
        fprintf (ids, "%s\n", r->evs [i]->msg_id);
    if (ids)
        fclose (ids);
    FILE *truth = truth_path ? fopen (truth_path, "w") : NULL;
    for (size_t i = 0; truth && i < r->n; i++)
        fprintf (truth, "%s\t%s\n", r->evs [i]->msg_id, sim_truth (r->evs [i]));
    if (truth)
        fclose (truth);
}

//  The simulated day and the batching as the options say. Returns 0, or 2
//  with a message when they make no sense.
static int s_config (int argc, char **argv, sim_config_t *cfg, char *run, size_t runlen, int *batch, int *window)
{
    *cfg = (sim_config_t) {
        .brand = s_opt (argc, argv, "--brand", "demo"),
        .stores = atoi (s_opt (argc, argv, "--stores", "20")),
        .groups = atoi (s_opt (argc, argv, "--groups", "3")),
        .members = atoi (s_opt (argc, argv, "--members", "150")),
        .messages = atol (s_opt (argc, argv, "--messages", "100000")),
        .day_groups = atoi (s_opt (argc, argv, "--day-groups", "0")),
        .ad_rate = atof (s_opt (argc, argv, "--ad-rate", "0.03")),
        .flooder_rate = atof (s_opt (argc, argv, "--flooder-rate", "0.01")),
        .leave_rate = atof (s_opt (argc, argv, "--leave-rate", "0.05")),
        .dup_rate = atof (s_opt (argc, argv, "--dup-rate", "0.005")),
        .seed = (unsigned) atoi (s_opt (argc, argv, "--seed", "1")),
    };
    qy_snprintf (run, runlen, "%lld", (long long) (qy_now_us () / 1000000));
    cfg->run = s_opt (argc, argv, "--run", run);
    //  The simulated day starts at local midnight (+08:00) day_offset days from today.
    int day_offset = atoi (s_opt (argc, argv, "--day-offset", "-1"));
    cfg->day_start_us = ((int64_t) (qy_day_of (qy_now_us (), 480) + day_offset) * 86400 - 480 * 60) * 1000000LL;
    *batch = atoi (s_opt (argc, argv, "--batch", "200"));
    *window = atoi (s_opt (argc, argv, "--window", "8"));
    if (cfg->stores < 1 || cfg->groups < 1 || cfg->members < 2 || *batch < 1 || *window < 1 || cfg->day_groups < 0
        || (long long) cfg->stores * cfg->groups > 10000000) {
        fprintf (stderr, "qy-loadgen: stores, groups, batch and window must be ≥ 1, members ≥ 2, day-groups ≥ 0, "
                 "stores × groups ≤ 10,000,000\n");
        return 2;
    }
    return 0;
}

int main (int argc, char **argv)
{
    int check = s_args_check (argc, argv);
    if (check)
        return check < 0 ? 0 : check;
    sim_config_t cfg;
    char run [32];
    int batch, window;
    if (s_config (argc, argv, &cfg, run, sizeof (run), &batch, &window))
        return 2;
    const char *endpoint = s_opt (argc, argv, "--endpoint", "tcp://127.0.0.1:5540");
    s_run_t r = { .rate = atof (s_opt (argc, argv, "--rate", "0")), .window = window,
                  .resend_us = atoll (s_opt (argc, argv, "--resend-ms", "5000")) * 1000 };
    int64_t until_us = atoll (s_opt (argc, argv, "--seconds", "0")) * 1000000;
    sim_counts_t counts;
    r.evs = sim_generate (&cfg, &r.n, &counts);
    size_t generated = r.n;         //  r.n: those sent, once --seconds cut the run short
    r.nb = (r.n + (size_t) batch - 1) / (size_t) batch;
    r.batches = qy_calloc (r.nb ? r.nb : 1, sizeof (s_batch_t));
    for (size_t i = 0; i < r.nb; i++) {
        r.batches [i].first = i * (size_t) batch;
        r.batches [i].n = i + 1 < r.nb ? (size_t) batch : r.n - i * (size_t) batch;
    }
    printf ("loadgen: generated events=%zu joins=%ld messages=%ld ads=%ld flood_msgs=%ld leaves=%ld staff_posts=%ld "
            "resent_duplicates=%ld groups=%d members_per_group=%d\n", r.n, counts.joins, counts.messages, counts.ads,
            counts.flood_msgs, counts.leaves, counts.staff_posts, counts.duplicates, cfg.stores * cfg.groups, cfg.members);
    fflush (stdout);
    void *ctx = zmq_ctx_new ();
    void *dealer = qy_zmq_socket (ctx, ZMQ_DEALER, 10000, 0);
    if (qy_zmq_connect (dealer, endpoint))
        return 1;
    r.retry_queue = qy_calloc (r.nb ? r.nb : 1, sizeof (int));
    r.retry_at = qy_calloc (r.nb ? r.nb : 1, sizeof (int64_t));
    r.t0 = r.next_scan = qy_mono_us ();
    if (s_run (&r, dealer, endpoint, until_us))
        return 1;
    double secs = (double) (qy_mono_us () - r.t0) / 1e6;
    printf ("loadgen: sent events=%zu batches=%zu in %.2f s = %.0f events/s; ingest answered accepted=%ld duplicate=%ld "
            "rejected=%ld busy_retries=%ld retries=%ld resent=%ld\n", r.n, r.nb, secs, (double) r.n / secs, r.accepted,
            r.duplicate, r.rejected, r.busy, r.retries, r.resent);
    s_write_lists (&r, s_opt (argc, argv, "--ids", NULL), s_opt (argc, argv, "--truth", NULL));
    free (r.retry_queue);
    free (r.retry_at);
    free (r.batches);
    sim_free (r.evs, generated);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return r.rejected ? 3 : 0;
}
