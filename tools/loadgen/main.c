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

int main (int argc, char **argv)
{
    int check = s_args_check (argc, argv);
    if (check)
        return check < 0 ? 0 : check;
    sim_config_t cfg = {
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
    char run [32];
    qy_snprintf (run, sizeof (run), "%lld", (long long) (qy_now_us () / 1000000));
    cfg.run = s_opt (argc, argv, "--run", run);
    const char *endpoint = s_opt (argc, argv, "--endpoint", "tcp://127.0.0.1:5540");
    double rate = atof (s_opt (argc, argv, "--rate", "0"));
    int batch = atoi (s_opt (argc, argv, "--batch", "200"));
    int window = atoi (s_opt (argc, argv, "--window", "8"));
    int day_offset = atoi (s_opt (argc, argv, "--day-offset", "-1"));
    int64_t resend_us = atoll (s_opt (argc, argv, "--resend-ms", "5000")) * 1000;
    const char *ids_path = s_opt (argc, argv, "--ids", NULL);
    int64_t until_us = atoll (s_opt (argc, argv, "--seconds", "0")) * 1000000;
    const char *truth_path = s_opt (argc, argv, "--truth", NULL);
    //  The simulated day starts at local midnight (+08:00) day_offset days from today.
    int64_t now = qy_now_us ();
    cfg.day_start_us = ((int64_t) (qy_day_of (now, 480) + day_offset) * 86400 - 480 * 60) * 1000000LL;
    if (cfg.stores < 1 || cfg.groups < 1 || cfg.members < 2 || batch < 1 || window < 1 || cfg.day_groups < 0
        || (long long) cfg.stores * cfg.groups > 10000000) {
        fprintf (stderr, "qy-loadgen: stores, groups, batch and window must be ≥ 1, members ≥ 2, day-groups ≥ 0, "
                 "stores × groups ≤ 10,000,000\n");
        return 2;
    }

    size_t n;
    sim_counts_t counts;
    Qy__Event **evs = sim_generate (&cfg, &n, &counts);
    size_t generated = n;           //  n: those sent, once --seconds cut the run short
    size_t nb = (n + (size_t) batch - 1) / (size_t) batch;
    s_batch_t *batches = qy_calloc (nb ? nb : 1, sizeof (s_batch_t));
    for (size_t i = 0; i < nb; i++) {
        batches [i].first = i * (size_t) batch;
        batches [i].n = i + 1 < nb ? (size_t) batch : n - i * (size_t) batch;
    }
    printf ("loadgen: generated events=%zu joins=%ld messages=%ld ads=%ld flood_msgs=%ld leaves=%ld staff_posts=%ld "
            "resent_duplicates=%ld groups=%d members_per_group=%d\n", n, counts.joins, counts.messages, counts.ads,
            counts.flood_msgs, counts.leaves, counts.staff_posts, counts.duplicates, cfg.stores * cfg.groups, cfg.members);
    fflush (stdout);

    void *ctx = zmq_ctx_new ();
    void *dealer = qy_zmq_socket (ctx, ZMQ_DEALER, 10000, 0);
    if (qy_zmq_connect (dealer, endpoint))
        return 1;
    long accepted = 0, duplicate = 0, rejected = 0, busy = 0, retries = 0;
    size_t next = 0, done = 0;
    int inflight = 0;
    int *retry_queue = qy_calloc (nb ? nb : 1, sizeof (int));
    int64_t *retry_at = qy_calloc (nb ? nb : 1, sizeof (int64_t));
    size_t nretry = 0;
    int64_t t0 = qy_mono_us ();
    double sent_events = 0;
    int64_t last_ack = t0, next_scan = t0;
    long resent = 0;
    while (done < nb) {
        int64_t tnow = qy_mono_us ();
        //  Out of time: the batches not started are dropped from the run.
        if (until_us > 0 && tnow - t0 >= until_us && next < nb) {
            nb = next;
            n = nb ? batches [nb - 1].first + batches [nb - 1].n : 0;
            if (done >= nb)
                break;
        }
        //  A batch with no answer (ingest died with it, or the answer was
        //  lost) is sent again, as a real gateway does: ingest answers
        //  what it stored before as duplicate.
        if (resend_us > 0 && tnow >= next_scan) {
            for (size_t b = 0; b < next; b++)
                if (!batches [b].answered && batches [b].sent_us && tnow - batches [b].sent_us > resend_us) {
                    s_send (dealer, evs, &batches [b], (int) b);
                    resent++;
                }
            next_scan = tnow + 500000;
        }
        //  Fill the window: retries due first, then new batches within the rate.
        while (inflight < window) {
            int pick = -1;
            for (size_t r = 0; r < nretry; r++)
                if (retry_at [r] <= tnow) {
                    pick = retry_queue [r];
                    retry_queue [r] = retry_queue [nretry - 1];
                    retry_at [r] = retry_at [nretry - 1];
                    nretry--;
                    break;
                }
            if (pick < 0 && next < nb) {
                if (rate > 0 && sent_events > rate * (double) (tnow - t0) / 1e6)
                    break;
                pick = (int) next++;
                sent_events += (double) batches [pick].n;
            }
            if (pick < 0)
                break;
            s_send (dealer, evs, &batches [pick], pick);
            inflight++;
        }
        zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, inflight ? 1000 : 1) <= 0) {
            if (inflight && qy_mono_us () - last_ack > 30 * 1000000LL) {
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
        int idx = atoi (ack->batch_id);
        if (idx < 0 || (size_t) idx >= nb || batches [idx].answered || !batches [idx].sent_us) {
            qy__ack__free_unpacked (ack, NULL);     //  the answer to a re-send of what was answered
            continue;
        }
        inflight--;
        batches [idx].sent_us = 0;
        if (!ack->ok) {
            //  Busy or storage trouble: nothing was stored, send again later.
            busy += ack->retry_after_ms > 0;
            retries++;
            if (ack->retry_after_ms == 0) {
                fprintf (stderr, "qy-loadgen: batch %d refused: %s\n", idx, ack->error);
                return 1;
            }
            retry_queue [nretry] = idx;
            retry_at [nretry++] = qy_mono_us () + (int64_t) ack->retry_after_ms * 1000;
        }
        else {
            for (size_t i = 0; i < ack->n_results; i++) {
                Qy__ItemStatus s = ack->results [i]->status;
                accepted += s == QY__ITEM_STATUS__ACCEPTED;
                duplicate += s == QY__ITEM_STATUS__DUPLICATE;
                rejected += s == QY__ITEM_STATUS__REJECTED;
            }
            batches [idx].answered = true;
            done++;
        }
        qy__ack__free_unpacked (ack, NULL);
    }
    double secs = (double) (qy_mono_us () - t0) / 1e6;
    printf ("loadgen: sent events=%zu batches=%zu in %.2f s = %.0f events/s; ingest answered accepted=%ld duplicate=%ld "
            "rejected=%ld busy_retries=%ld retries=%ld resent=%ld\n", n, nb, secs, (double) n / secs, accepted, duplicate,
            rejected, busy, retries, resent);
    //  The message ids sent, one a line: what an independent check expects in the archive.
    FILE *ids = ids_path ? fopen (ids_path, "w") : NULL;
    for (size_t i = 0; ids && i < n; i++)
        fprintf (ids, "%s\n", evs [i]->msg_id);
    if (ids)
        fclose (ids);
    //  What each message was meant to be (sim_truth), one "msg_id<TAB>kind"
    //  a line: what the demo's report compares moderation's verdicts with.
    FILE *truth = truth_path ? fopen (truth_path, "w") : NULL;
    for (size_t i = 0; truth && i < n; i++)
        fprintf (truth, "%s\t%s\n", evs [i]->msg_id, sim_truth (evs [i]));
    if (truth)
        fclose (truth);
    free (retry_queue);
    free (retry_at);
    free (batches);
    sim_free (evs, generated);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return rejected ? 3 : 0;
}
