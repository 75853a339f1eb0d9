//  qyctl deadletters: what the services set aside, and putting it back once
//  the cause is fixed. A dead letter is replayed through the door it was
//  refused at:
//
//    ingest      the event goes back to ingest (it never got in: unknown
//                brand, a field out of range …); ingest's answer says
//                whether it is now accepted;
//    moderation, scoring, campaign
//                the event goes back onto the bus, at the front of that
//                service's hop (it was accepted; one stage failed on it);
//    notifier    a delivery that failed all its attempts is set pending
//                again (the gateway was down for longer than the retries).
//
//  Everything downstream is idempotent by message id or delivery key, so a
//  replay that was not needed changes nothing. A row pushed onto a hop is
//  marked replayed before it is sent, so a failure that comes back while we
//  are still busy reopens it (common/src/qy_deadletter.c) instead of being
//  overwritten by our "done"; ingest answers at once, so its rows are
//  marked from the answer (an interrupted run leaves them open). What can
//  never succeed (an undecodable frame, an event that bypassed ingest) is
//  reported and left open; `resolve` closes it with a reason. Every attempt
//  is in audit_log with its result. A PostgreSQL error while a row is
//  being updated is that row's result, not the end of the run: the report
//  still lists every row (a row that could not be marked before its push is
//  not pushed), and the exit status is 1.
#include "qyctl.h"
#include "qy/deadletter.h"
#include "qy/pg.h"
#include "qy/pb.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>


//  A row is the brand's ($1 its id, $2 its code: rows set aside before the
//  brand existed carry only the code), or with "-" one naming no brand.
#define S_MINE "(brand_id = $1::bigint OR (brand_id IS NULL AND brand_code = $2))"

typedef struct {
    const char *id, *service, *msg_id;
    unsigned char *payload;
    size_t len;
    Qy__Event *ev;          //  decoded, for the event routes
    char *result;           //  what happened
    bool done;              //  replayed (or found already done)
    bool unrecorded;        //  PostgreSQL refused to update the row
} s_row_t;

typedef struct {
    const char *brand;
    char bid [24];
    int64_t brand_id;
    bool dry_run;
    int timeout_ms;
    int replayed, open, failed, unrecorded;
} s_run_t;

//  audit_log, with the result (and for a replay whether it went through).
static void s_audit (int64_t brand_id, const char *action, const char *id, const char *done, const char *result)
{
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{");
    if (done)
        qy_buf_printf (&d, "\"done\":%s,", done);
    qy_buf_puts (&d, "\"result\":");
    qy_buf_json_str (&d, result);
    qy_buf_puts (&d, "}");
    qyctl_audit_detail (brand_id, action, "dead_letter", id, d.data);
    qy_buf_free (&d);
}

static void s_set (s_row_t *r, bool done, char *result)
{
    free (r->result);
    r->result = result;
    r->done = done;
}

//  Run one of the row's updates; on a PostgreSQL error the row's result
//  says so ("…; not recorded: ERROR") and false comes back.
static bool s_write (s_row_t *r, const char *sql, int n, const char *const *p, PGresult **out)
{
    PGresult *res = PQexecParams (qyctl_pg (), sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear (res);
        return true;
    }
    char *error = qy_strdup (PQresultErrorMessage (res));
    error [strcspn (error, "\n")] = 0;
    PQclear (res);
    char *result = qy_printf ("%s; not recorded: %s", r->result ? r->result : "nothing done", error);
    s_set (r, r->done, result);
    r->unrecorded = true;
    free (error);
    return false;
}

//  A dead letter id from the command line (exits on anything else).
static const char *s_id_arg (const char *a)
{
    char *end;
    if (!a || strtoll (a, &end, 10) <= 0 || *end)
        qyctl_die ("not a dead letter id: '%s'", a ? a : "");
    return a;
}

//  Mark a row replayed with its result (before its effect is sent, when it
//  is pushed: see the top).
static bool s_mark (s_row_t *r)
{
    const char *p [] = { r->id, r->result };
    return s_write (r, "UPDATE dead_letters SET replayed_at = now (), resolved_at = NULL, replays = replays + 1, "
                       "replay_result = $2 WHERE id = $1", 2, p, NULL);
}

//  The replay did not take: the row stays open with what happened.
static void s_reopen (s_row_t *r)
{
    const char *p [] = { r->id, r->result };
    s_write (r, "UPDATE dead_letters SET replayed_at = NULL, replay_result = $2 WHERE id = $1", 2, p, NULL);
}

//  Ingest refused it again (reason: its answer) or did not answer: the
//  attempt is counted and the row stays open.
static void s_failed (s_row_t *r, const char *reason)
{
    const char *p [] = { r->id, r->result, reason };
    s_write (r, "UPDATE dead_letters SET replays = replays + 1, replay_result = $2, "
                "failed_again = failed_again + ($3::text IS NOT NULL)::int, reason = coalesce ($3, reason) "
                "WHERE id = $1", 3, p, NULL);
}

//  notifier: a delivery that ran out of attempts goes back to pending, with
//  its attempts reset, in the same statement that marks the row.
static void s_requeue (s_run_t *run, s_row_t *r)
{
    if (!*r->msg_id) {
        s_set (r, false, qy_strdup ("not replayable: no delivery key"));
        return;
    }
    const char *p [] = { r->msg_id, run->bid, r->id };
    PGresult *res;
    s_set (r, false, qy_strdup ("not requeued"));
    if (!s_write (r, "SELECT status FROM deliveries WHERE key = $1 AND brand_id = $2", 2, p, &res))
        return;
    const char *status = PQntuples (res) ? PQgetvalue (res, 0, 0) : NULL;
    if (!status)
        s_set (r, false, qy_strdup ("not replayable: the delivery was refused at intake; the sender must send a corrected one"));
    else
    if (strcmp (status, "dead") != 0) {
        s_set (r, true, qy_printf ("nothing to do: the delivery is %s", status));
        if (!run->dry_run)
            s_mark (r);
    }
    else
    if (run->dry_run)
        s_set (r, true, qy_strdup ("would requeue the delivery"));
    else {
        PGresult *u;
        if (s_write (r,
            "WITH d AS (UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now (), "
            "           lease_until = NULL, last_error = 'requeued from dead letter ' || $3::text "
            "           WHERE key = $1 AND brand_id = $2 AND status = 'dead' RETURNING key) "
            "UPDATE dead_letters SET replayed_at = now (), resolved_at = NULL, replays = replays + 1, replay_result = 'requeued' "
            "WHERE id = $3::bigint AND EXISTS (SELECT 1 FROM d) RETURNING id", 3, p, &u)) {
            s_set (r, PQntuples (u) == 1, qy_strdup (PQntuples (u) == 1 ? "requeued" : "not requeued: the delivery changed meanwhile"));
            PQclear (u);
        }
    }
    PQclear (res);
}

//  The event routes: decode and check that the event is what the row says
//  (the same questions the console asks, common/src/qy_deadletter.c).
static const char *s_event_problem (s_run_t *run, s_row_t *r, bool via_ingest)
{
    r->ev = r->len ? qy__event__unpack (NULL, r->len, r->payload) : NULL;
    return qy_deadletter_replay_problem (r->ev, r->payload, r->len, r->msg_id, via_ingest ? "ingest" : r->service,
                                         run->brand, run->brand_id);
}

//  One bus hop we push to. IMMEDIATE: nothing is queued for a hop that is
//  not connected, so an unreachable bus fails the send (after timeout_ms)
//  instead of parking the event in our queue to be dropped on exit; once
//  a send failed, the hop's other rows fail at once.
typedef struct {
    const char *front;
    void *sock;
    char *error;
} s_hop_t;

static void s_push (s_run_t *run, s_row_t *r, void *ctx, s_hop_t *hop)
{
    if (run->dry_run) {
        s_set (r, true, qy_printf ("would push to the %s hop at %s", r->service, hop->front));
        return;
    }
    if (!hop->sock && !hop->error) {
        int on = 1;
        hop->sock = qy_zmq_socket (ctx, ZMQ_DEALER, 1000, 30000);
        qyctl_hop_curve (hop->sock);
        zmq_setsockopt (hop->sock, ZMQ_IMMEDIATE, &on, sizeof (on));
        zmq_setsockopt (hop->sock, ZMQ_SNDTIMEO, &run->timeout_ms, sizeof (run->timeout_ms));
        if (qy_zmq_connect (hop->sock, hop->front))
            hop->error = qy_printf ("cannot connect to %s", hop->front);
    }
    if (hop->error) {
        s_set (r, false, qy_printf ("not sent: %s", hop->error));
        return;
    }
    s_set (r, false, qy_printf ("pushed to the %s hop", r->service));
    if (!s_mark (r)) {          //  a push we could not mark is not made
        const char *why = strstr (r->result, "not recorded: ");
        s_set (r, false, qy_printf ("not sent: the row could not be marked: %s", why ? why + 14 : "?"));
        return;
    }
    if (zmq_send (hop->sock, r->payload, r->len, 0) < 0) {
        hop->error = qy_printf ("send to %s failed: %s", hop->front,
                                zmq_errno () == EAGAIN ? "the hop did not take it in time" : zmq_strerror (zmq_errno ()));
        s_set (r, false, qy_strdup (hop->error));
        s_reopen (r);
        return;
    }
    r->done = true;
}

//  ingest: the events in batches over the gateway door; ingest's answer
//  decides each row.
#define S_INGEST_BATCH 200

static void s_ingest (s_run_t *run, s_row_t **rows, size_t n, const char *endpoint)
{
    if (!n)
        return;
    if (run->dry_run) {
        for (size_t i = 0; i < n; i++)
            s_set (rows [i], true, qy_printf ("would send to ingest at %s", endpoint));
        return;
    }
    void *ctx = zmq_ctx_new ();
    void *dealer = NULL;
    Qy__Event *evs [S_INGEST_BATCH];
    for (size_t off = 0; off < n; off += S_INGEST_BATCH) {
        size_t k = n - off < S_INGEST_BATCH ? n - off : S_INGEST_BATCH;
        for (size_t i = 0; i < k; i++) {
            evs [i] = rows [off + i]->ev;
            evs [i]->brand_id = 0;          //  ingest resolves the brand itself
        }
        //  A fresh socket after a batch went unanswered: its late answer
        //  goes nowhere (and would not match this batch's id anyway).
        if (!dealer) {
            dealer = qy_zmq_socket (ctx, ZMQ_DEALER, 1000, 0);
            if (qy_zmq_connect (dealer, endpoint)) {
                zmq_close (dealer);
                dealer = NULL;
            }
        }
        char id [64];
        qy_snprintf (id, sizeof (id), "deadletters-replay-%ld-%zu", (long) getpid (), off);
        Qy__Ack *ack = dealer ? qyctl_ingest_batch (dealer, id, evs, k, run->timeout_ms) : NULL;
        if (!ack && dealer) {
            zmq_close (dealer);
            dealer = NULL;
        }
        for (size_t i = 0; i < k; i++) {
            s_row_t *r = rows [off + i];
            const Qy__ItemResult *res = ack && ack->ok && i < ack->n_results ? ack->results [i] : NULL;
            if (!res) {
                s_set (r, false, qy_printf ("ingest did not take the batch: %s",
                                            !ack ? "no answer" : *ack->error ? ack->error : "no result for the event"));
                s_failed (r, NULL);
            }
            else
            if (res->status == QY__ITEM_STATUS__REJECTED) {
                s_set (r, false, qy_printf ("rejected again: %s", res->error));
                s_failed (r, res->error);
            }
            else {
                s_set (r, true, qy_strdup (res->status == QY__ITEM_STATUS__ACCEPTED ? "accepted by ingest"
                                                                                    : "duplicate: ingest already has it"));
                s_mark (r);
            }
        }
        if (ack)
            qy__ack__free_unpacked (ack, NULL);
    }
    if (dealer)
        zmq_close (dealer);
    zmq_ctx_term (ctx);
}

static const char *s_front (const char *opt, const char *env, const char *def)
{
    const char *v = qyctl_opt (opt, getenv (env));
    return v ? v : def;
}

//  What the replay did with each row, and the counts: tab-separated lines
//  and a summary line (the default), --format csv (the rows), or --format
//  json ({"rows": […], "summary": {…}}). Built here, not by PostgreSQL:
//  the report comes out whatever state the connection is in.
static void s_report (const s_run_t *run, const s_row_t *rows, int n)
{
    const char *format = qyctl_opt ("format", "table");
    bool csv = strcmp (format, "csv") == 0, json = strcmp (format, "json") == 0;
    qy_buf_t out;
    qy_buf_init (&out);
    if (csv) {
        const char *head [] = { "id", "service", "msg_id", "done", "result" };
        qyctl_csv_row (head, 5);
    }
    qy_buf_puts (&out, json ? "{\"rows\":[" : "");
    for (int i = 0; i < n; i++) {
        const s_row_t *r = &rows [i];
        if (csv) {
            const char *f [] = { r->id, r->service, r->msg_id, r->done ? "true" : "false", r->result };
            qyctl_csv_row (f, 5);
        }
        else
        if (json) {
            qy_buf_printf (&out, "%s{\"id\":%s,\"service\":", i ? "," : "", r->id);
            qy_buf_json_str (&out, r->service);
            qy_buf_puts (&out, ",\"msg_id\":");
            qy_buf_json_str (&out, r->msg_id);
            qy_buf_printf (&out, ",\"done\":%s,\"result\":", r->done ? "true" : "false");
            qy_buf_json_str (&out, r->result);
            qy_buf_puts (&out, "}");
        }
        else
            printf ("%s\t%s\t%s\t%s\n", r->id, r->service, r->msg_id, r->result);
    }
    if (json)
        qy_buf_printf (&out, "],\"summary\":{\"dry_run\":%s,\"%s\":%d,\"not_replayable\":%d,\"failed\":%d,\"unrecorded\":%d}}\n",
                       run->dry_run ? "true" : "false", run->dry_run ? "would_replay" : "replayed", run->replayed, run->open,
                       run->failed, run->unrecorded);
    else
    if (!csv) {
        qy_buf_printf (&out, "%s=%d not_replayable=%d failed=%d", run->dry_run ? "would_replay" : "replayed", run->replayed,
                       run->open, run->failed);
        if (run->unrecorded)
            qy_buf_printf (&out, " unrecorded=%d", run->unrecorded);
        qy_buf_puts (&out, "\n");
    }
    fputs (out.data ? out.data : "", stdout);
    fflush (stdout);
    qy_buf_free (&out);
}

//  The dead letters a replay takes: the ids named (even when replayed
//  before), or with --open every open one; --service and --limit narrow
//  them. *missing counts named ids that are not the brand's.
static PGresult *s_replay_select (const s_run_t *run, bool open, int *missing)
{
    qy_pg_cols_t ids;
    qy_pg_cols_init (&ids, 1);
    int nids = 0;
    for (const char *a; (a = qyctl_arg (2 + nids)); nids++) {
        qy_pg_cols_row (&ids);
        qy_pg_cols_printf (&ids, 0, "%s", s_id_arg (a));       //  each must be a number
    }
    const char *p [] = { run->bid, run->brand, open ? NULL : qy_pg_cols_array (&ids, 0), qyctl_opt ("service", NULL),
                         qyctl_opt ("limit", "1000") };
    PGresult *res = qyctl_exec (
        "SELECT id, service, coalesce (msg_id, ''), payload FROM dead_letters WHERE " S_MINE
        "  AND ($3::bigint[] IS NULL OR id = ANY ($3::bigint[])) AND ($3::bigint[] IS NOT NULL OR state = 'open') "
        "  AND ($4::text IS NULL OR service = $4) ORDER BY id LIMIT $5", 5, p);
    int n = PQntuples (res);
    //  An id that is not the brand's is an error, as in show and resolve:
    //  the others are still replayed, and the run exits 1.
    *missing = !open && n < nids ? nids - n : 0;
    if (*missing)
        fprintf (stderr, "qyctl: %d of the %d ids are not dead letters of %s%s\n", nids - n, nids, run->brand,
                 p [3] ? " from that service" : "");
    qy_pg_cols_free (&ids);
    return res;
}

//  Each row back where it came from: notifier's deliveries requeued,
//  events pushed onto their hop's front or sent to ingest again. A row
//  that cannot go is marked not replayable, with why.
static void s_replay_send (s_run_t *run, s_row_t *rows, PGresult *res, int n)
{
    s_row_t **to_ingest = qy_calloc ((size_t) n + 1, sizeof (s_row_t *));
    size_t ningest = 0;
    static const char *const hops [] = { "moderation", "scoring", "campaign" };
    s_hop_t fronts [] = {
        { s_front ("--moderation", "QY_MODERATION_FRONT", "tcp://127.0.0.1:5550"), NULL, NULL },
        { s_front ("--scoring", "QY_SCORING_FRONT", "tcp://127.0.0.1:5552"), NULL, NULL },
        { s_front ("--campaign", "QY_CAMPAIGN_FRONT", "tcp://127.0.0.1:5554"), NULL, NULL },
    };
    void *ctx = zmq_ctx_new ();
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "deadletters replay", n);
    for (int i = 0; i < n; i++) {
        qyctl_progress (&progress, i);
        s_row_t *r = &rows [i];
        r->id = PQgetvalue (res, i, 0);
        r->service = PQgetvalue (res, i, 1);
        r->msg_id = PQgetvalue (res, i, 2);
        r->payload = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, i, 3), &r->len);
        int hop = -1;
        for (int h = 0; h < 3; h++)
            if (!strcmp (r->service, hops [h]))
                hop = h;
        if (!strcmp (r->service, "notifier"))
            s_requeue (run, r);
        else
        if (hop < 0 && strcmp (r->service, "ingest") != 0)
            s_set (r, false, qy_printf ("not replayable: unknown service %s", r->service));
        else {
            const char *problem = s_event_problem (run, r, hop < 0);
            if (problem)
                s_set (r, false, qy_strdup (problem));
            else
            if (hop < 0)
                to_ingest [ningest++] = r;
            else
                s_push (run, r, ctx, &fronts [hop]);
        }
    }
    qyctl_progress_end (&progress);
    s_ingest (run, to_ingest, ningest, s_front ("--ingest", "QY_INGEST_ENDPOINT", "tcp://127.0.0.1:5540"));
    for (int h = 0; h < 3; h++) {
        if (fronts [h].sock)
            zmq_close (fronts [h].sock);        //  linger lets what is queued out
        free (fronts [h].error);
    }
    zmq_ctx_term (ctx);
    free (to_ingest);
}

static int s_replay (void)
{
    s_run_t run = { .brand = qyctl_arg (1), .dry_run = qyctl_flag ("dry-run"),
                    .timeout_ms = (int) qyctl_long ("--timeout-ms", qyctl_opt ("timeout-ms", "10000"), 1, 3600000) };
    bool open = qyctl_flag ("open");
    if (!run.brand || (!open && !qyctl_arg (2)) || (open && qyctl_arg (2)))
        qyctl_usage_error ("these arguments do not go together");
    if (!run.dry_run)
        qyctl_confirm ("deadletters replay puts these dead letters back into the chain (--dry-run says what it would do)");
    run.brand_id = qyctl_brand_id (run.brand);
    qy_pg_i64 (run.bid, run.brand_id);
    int missing;
    PGresult *res = s_replay_select (&run, open, &missing);
    int n = PQntuples (res);
    s_row_t *rows = qy_calloc ((size_t) n + 1, sizeof (s_row_t));
    s_replay_send (&run, rows, res, n);
    //  The report first, whatever PostgreSQL does next; then the audit.
    for (int i = 0; i < n; i++) {
        s_row_t *r = &rows [i];
        if (r->done)
            run.replayed++;
        else
        if (strncmp (r->result, "not replayable", 14) != 0)
            run.failed++;
        else
            run.open++;
        run.unrecorded += r->unrecorded;
    }
    s_report (&run, rows, n);
    for (int i = 0; i < n; i++) {
        s_row_t *r = &rows [i];
        if (strncmp (r->result, "not replayable", 14) != 0 && !run.dry_run)
            s_audit (run.brand_id, "deadletter.replay", r->id, r->done ? "true" : "false", r->result);
        if (r->ev)
            qy__event__free_unpacked (r->ev, NULL);
        PQfreemem (r->payload);
        free (r->result);
    }
    free (rows);
    PQclear (res);
    return run.failed || run.unrecorded || missing ? 1 : 0;
}

//  Whose rows (S_MINE's $1 and $2): a brand's, or with "-" the platform
//  operator's rows that name no brand at all (undecodable frames). Returns
//  the brand id (0 for "-").
static int64_t s_scope (const char *brand, char *bid, size_t size, const char **code)
{
    if (!strcmp (brand, "-")) {
        qy_strlcpy (bid, "0", size);
        *code = "";
        return 0;
    }
    int64_t id = qyctl_brand_id (brand);
    qy_snprintf (bid, size, "%lld", (long long) id);
    *code = brand;
    return id;
}

//  Close rows that will never be replayed, with the operator's reason.
static int s_resolve (void)
{
    const char *brand = qyctl_arg (1), *reason = qyctl_opt ("reason", NULL);
    if (!brand || !qyctl_arg (2) || !reason || !*reason)
        qyctl_usage_error ("these arguments do not go together");
    char bid [24];
    const char *code;
    int64_t brand_id = s_scope (brand, bid, sizeof (bid), &code);
    qyctl_confirm ("deadletters resolve closes these dead letters for good");
    char *result = qy_printf ("resolved: %s", reason);
    int rc = 0;
    for (int i = 2; qyctl_arg (i); i++) {
        const char *p [] = { bid, code, s_id_arg (qyctl_arg (i)), result };
        PGresult *res = qyctl_exec (
            "UPDATE dead_letters SET resolved_at = now (), replay_result = $4 WHERE id = $3 AND " S_MINE " RETURNING id",
            4, p);
        if (PQntuples (res)) {
            printf ("%s\t%s\n", p [2], result);
            s_audit (brand_id, "deadletter.resolve", p [2], NULL, result);
        }
        else {
            fprintf (stderr, "qyctl: %s is not a dead letter of %s\n", p [2], brand);
            rc = 1;
        }
        PQclear (res);
    }
    free (result);
    return rc;
}

//  The payload as people can read it: an event or a delivery decoded, a
//  JSON body parsed, text as text, anything else in hex (the first 4 KiB).
static void s_payload (qy_buf_t *out, const char *service, const unsigned char *p, size_t len)
{
    bool events = !strcmp (service, "ingest") || !strcmp (service, "moderation") || !strcmp (service, "scoring")
                  || !strcmp (service, "campaign");
    json_t *j = len && p [0] == '{' ? json_loadb ((const char *) p, len, 0, NULL) : NULL;
    if (j) {
        char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        qy_buf_printf (out, ",\"json\":%s", text);
        free (text);
        json_decref (j);
        return;
    }
    ProtobufCMessage *m = !len ? NULL : events ? (ProtobufCMessage *) qy__event__unpack (NULL, len, p)
                        : !strcmp (service, "notifier") ? (ProtobufCMessage *) qy__delivery__unpack (NULL, len, p) : NULL;
    if (m) {
        qy_buf_printf (out, ",\"%s\":", events ? "event" : "delivery");
        qy_pb_to_json (m, out);
        protobuf_c_message_free_unpacked (m, NULL);
        return;
    }
    char *text = qy_malloc (len + 1);
    memcpy (text, p, len);
    text [len] = 0;
    if (strlen (text) == len && qy_utf8_valid (text)) {
        qy_buf_puts (out, ",\"text\":");
        qy_buf_json_str (out, text);
    }
    else {
        size_t n = len < 4096 ? len : 4096;
        qy_buf_puts (out, ",\"hex\":\"");
        qy_buf_hex (out, p, n);
        qy_buf_printf (out, "\"%s", n < len ? ",\"hex_truncated\":true" : "");
    }
    free (text);
}

//  One row, whole, as JSON.
static int s_show (void)
{
    const char *brand = qyctl_arg (1), *id = qyctl_arg (2);
    if (!brand || !id || qyctl_arg (3))
        qyctl_usage_error ("these arguments do not go together");
    char bid [24];
    const char *code;
    s_scope (brand, bid, sizeof (bid), &code);
    const char *p [] = { bid, code, s_id_arg (id) };
    PGresult *res = qyctl_exec (
        "SELECT id, created_at, service, coalesce (brand_code, ''), coalesce (msg_id, ''), reason, replays, failed_again, "
        "       state, coalesce (replay_result, ''), payload, length (payload) "
        "FROM dead_letters WHERE id = $3 AND " S_MINE, 3, p);
    if (!PQntuples (res))
        qyctl_die ("%s is not a dead letter of %s", id, brand);
    qy_buf_t out;
    qy_buf_init (&out);
    static const char *names [] = { "id", "created_at", "service", "brand", "msg_id", "reason" };
    for (int c = 0; c < 6; c++) {
        qy_buf_printf (&out, "%s\"%s\":", c ? "," : "{", names [c]);
        if (c == 0)
            qy_buf_puts (&out, PQgetvalue (res, 0, c));
        else
            qy_buf_json_str (&out, PQgetvalue (res, 0, c));
    }
    qy_buf_printf (&out, ",\"replays\":%s,\"failed_again\":%s,\"state\":\"%s\",\"last_replay\":", PQgetvalue (res, 0, 6),
                   PQgetvalue (res, 0, 7), PQgetvalue (res, 0, 8));
    qy_buf_json_str (&out, PQgetvalue (res, 0, 9));
    qy_buf_printf (&out, ",\"bytes\":%s", PQgetisnull (res, 0, 11) ? "0" : PQgetvalue (res, 0, 11));
    size_t len = 0;
    unsigned char *payload = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 10), &len);
    s_payload (&out, PQgetvalue (res, 0, 2), payload, len);
    qy_buf_puts (&out, "}\n");
    fputs (out.data, stdout);
    PQfreemem (payload);
    qy_buf_free (&out);
    PQclear (res);
    return 0;
}

int qyctl_deadletters (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *first = qyctl_arg (0);
    if (first && !strcmp (first, "replay"))
        return s_replay ();
    if (first && !strcmp (first, "resolve"))
        return s_resolve ();
    if (first && !strcmp (first, "show"))
        return s_show ();
    if (first && (!strcmp (first, "help") || qyctl_arg (1)))
        qyctl_usage_error ("these arguments do not go together");
    char bid [24] = "";
    if (first)
        qy_pg_i64 (bid, qyctl_brand_id (first));
    const char *p [] = { first ? bid : NULL, first, qyctl_opt ("limit", "50"),
                         qyctl_flag ("open") ? "t" : "f", qyctl_opt ("service", NULL) };
    //  Without a brand: the platform operator's view, including unknown brands.
    //  --summary: how many rows per service, reason and state (thousands of
    //  one failure read as one line).
    static const char *const where =
        "WHERE ($1::bigint IS NULL OR " S_MINE ") AND (NOT $4::bool OR state = 'open') AND ($5::text IS NULL OR service = $5) ";
    char *sql = qyctl_flag ("summary")
        ? qy_printf ("SELECT service, reason, state, count (*) AS n, date_trunc ('second', min (created_at)) AS first, "
                     "       date_trunc ('second', max (created_at)) AS last FROM dead_letters %s "
                     "GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT $3", where)
        : qy_printf ("SELECT id, date_trunc ('second', created_at) AS at, service, coalesce (brand_code, '') AS brand, "
                     "       coalesce (msg_id, '') AS msg_id, reason, length (payload) AS bytes, replays, state, "
                     "       coalesce (replay_result, '') AS last_replay FROM dead_letters %s ORDER BY id DESC LIMIT $3", where);
    PGresult *res = qyctl_exec (sql, 5, p);
    free (sql);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

static const qyctl_option_t s_list_opts [] = {
    { "open",    QYCTL_FLAG,  NULL, "only the open ones" },
    { "service", QYCTL_VALUE, "S",  "only that service's" },
    { "summary", QYCTL_FLAG,  NULL, "how many per service, reason and state" },
    { "limit",   QYCTL_VALUE, "N",  "rows to show (default 50)" },
    { NULL }
};
static const qyctl_option_t s_replay_opts [] = {
    { "open",       QYCTL_FLAG,  NULL, "every open dead letter of the brand (instead of IDs)" },
    { "service",    QYCTL_VALUE, "S",  "only that service's" },
    { "limit",      QYCTL_VALUE, "N",  "at most N rows (default 1000)" },
    { "dry-run",    QYCTL_FLAG,  NULL, "say what would be done; do nothing (needs no --yes)" },
    { "ingest",     QYCTL_VALUE, "E",  "ingest's door (default $QY_INGEST_ENDPOINT, tcp://127.0.0.1:5540)" },
    { "moderation", QYCTL_VALUE, "E",  "the moderation hop's front (default $QY_MODERATION_FRONT)" },
    { "scoring",    QYCTL_VALUE, "E",  "the scoring hop's front (default $QY_SCORING_FRONT)" },
    { "campaign",   QYCTL_VALUE, "E",  "the campaign hop's front (default $QY_CAMPAIGN_FRONT)" },
    { "timeout-ms", QYCTL_VALUE, "N",  "how long a send or an answer may take (default 10000)" },
    { NULL }
};
static const qyctl_option_t s_resolve_opts [] = {
    { "reason", QYCTL_VALUE, "TEXT", "why they will never be replayed (required)" },
    { NULL }
};
const qyctl_command_t qyctl_deadletters_commands [] = {
    { "deadletters", "[BRAND]", 0, 1, s_list_opts, "list what the services set aside (no brand: every brand's)" },
    { "deadletters show", "BRAND|- ID", 2, 2, NULL, "one dead letter whole, as JSON (- : rows naming no brand)" },
    { "deadletters replay", "BRAND ID…|--open", 1, -1, s_replay_opts, "put dead letters back through the door they were refused at",
      QYCTL_CONFIRM },
    { "deadletters resolve", "BRAND|- ID…", 2, -1, s_resolve_opts, "close dead letters that will never be replayed", QYCTL_CONFIRM },
    { NULL }
};
