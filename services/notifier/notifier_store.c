#include "notifier.h"
#include "notifier_edge.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

//  A job from a row of the claim's columns (notifier_store_claim's RETURNING).
static void s_job_of (const PGresult *res, int r, notifier_job_t *j)
{
    j->key = qy_strdup (PQgetvalue (res, r, 0));
    j->brand_id = qy_pg_int (res, r, 1);
    j->payload = qy_strdup (PQgetvalue (res, r, 2));
    j->attempts = (int) qy_pg_int (res, r, 3);
    j->url = PQgetisnull (res, r, 4) || !*PQgetvalue (res, r, 4) ? NULL : qy_strdup (PQgetvalue (res, r, 4));
    j->token = PQgetisnull (res, r, 5) ? NULL : qy_strdup (PQgetvalue (res, r, 5));
    j->created_us = qy_pg_int (res, r, 6);
    j->priority = (int) qy_pg_int (res, r, 7);
    j->kind = qy_strdup (PQgetvalue (res, r, 8));
    j->group_id = qy_pg_int (res, r, 9);
    j->member = qy_strdup (PQgetvalue (res, r, 10));
    j->webhook = PQgetvalue (res, r, 11) [0] == 't';
    j->in_doubt = PQgetvalue (res, r, 12) [0] == 't';
}

//  The insert, when take->max is 0: every row pending, for a claim.
static const char *s_insert_sql =
    "INSERT INTO deliveries (key, brand_id, group_id, kind, priority, payload, source, event_id, dest_url, member) "
    "SELECT DISTINCT ON (k) k, b, g, t, p, j, s, e, u, m "
    "FROM unnest ($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::smallint[], $6::jsonb[], $7::text[], "
    "             $8::text[], $9::text[], $10::text[]) "
    "AS x (k, b, g, t, p, j, s, e, u, m) ON CONFLICT (key) DO NOTHING";

//  The insert that claims: the batch's first take->max new rows in the
//  claim's order (priority, then brands taking turns) go in as the claim
//  would leave them ('sending', leased, attempt 1) and come back as jobs,
//  in the claim's columns and a 14th saying which; the rest, and every
//  alert to a robot's webhook (it waits as a pending row, for the
//  digests), go in pending.
//  Keys the table has are left out before counting (a redelivered batch
//  takes its slots from none); ON CONFLICT still settles a race with
//  another replica's insert.
static const char *s_insert_taking_sql =
    "WITH x AS (SELECT DISTINCT ON (k) k, b, g, t, p, j, s, e, u, m "
    "           FROM unnest ($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::smallint[], $6::jsonb[], "
    "                        $7::text[], $8::text[], $9::text[], $10::text[]) AS x (k, b, g, t, p, j, s, e, u, m) "
    "           WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.key = x.k)), "
    "     o AS (SELECT y.*, NOT (t = 'alert' AND u IS NOT NULL) "
    "                  AND row_number () OVER (ORDER BY t = 'alert' AND u IS NOT NULL, p, turn, k) <= $11::int AS go "
    "           FROM (SELECT x.*, row_number () OVER (PARTITION BY b, p ORDER BY k) AS turn FROM x) y), "
    "     i AS (INSERT INTO deliveries (key, brand_id, group_id, kind, priority, payload, source, event_id, dest_url, "
    "                                   member, status, lease_until, attempts) "
    "           SELECT k, b, g, t, p, j, s, e, u, m, CASE WHEN go THEN 'sending' ELSE 'pending' END, "
    "                  CASE WHEN go THEN now () + $12::int * interval '1 second' END, go::int "
    "           FROM o ON CONFLICT (key) DO NOTHING "
    "           RETURNING key, brand_id, payload, attempts, dest_url, created_at, priority, kind, group_id, member, "
    "                     status) "
    "SELECT i.key, i.brand_id, i.payload::text, i.attempts, coalesce (i.dest_url, b.gateway_url), "
    "       CASE WHEN i.dest_url IS NULL THEN b.gateway_token END, "
    "       (extract (epoch FROM i.created_at) * 1000000)::bigint, "
    "       i.priority, i.kind, coalesce (i.group_id, 0), coalesce (i.member, ''), i.dest_url IS NOT NULL, false, "
    "       i.status = 'sending' "
    "FROM i JOIN brands b ON b.id = i.brand_id";

//  The rows of an insert: how many were new; those it claimed into take,
//  and how many it left pending (all, when it might take none).
static int s_inserted (PGresult *res, notifier_insert_claim_t *take)
{
    if (!take || !take->max) {
        int n = atoi (PQcmdTuples (res));
        if (take)
            take->left = n;
        return n;
    }
    int n = PQntuples (res);
    take->jobs = qy_calloc ((size_t) (n ? n : 1), sizeof (notifier_job_t));
    take->njobs = 0;
    take->left = 0;
    for (int r = 0; r < n; r++)
        if (PQgetvalue (res, r, 13) [0] == 't')
            s_job_of (res, r, &take->jobs [take->njobs++]);
        else
            take->left++;
    return n;
}

int notifier_store_insert (qy_pg_t *pg, Qy__Delivery **ds, size_t n, notifier_insert_claim_t *take)
{
    //  Alerts learn their route now, so the payload is the robot's JSON and
    //  digests can group them by webhook.
    notifier_route_t *routes = qy_calloc (n ? n : 1, sizeof (notifier_route_t));
    Qy__Delivery **alerts = qy_calloc (n ? n : 1, sizeof (Qy__Delivery *));
    size_t *alert_at = qy_calloc (n ? n : 1, sizeof (size_t));
    size_t na = 0;
    for (size_t i = 0; i < n; i++)
        if (ds [i]->kind && strcmp (ds [i]->kind, "alert") == 0) {
            alert_at [na] = i;
            alerts [na++] = ds [i];
        }
    notifier_route_t *by_alert = qy_calloc (na ? na : 1, sizeof (notifier_route_t));
    int rc = -1;
    if (na && notifier_routes_lookup (pg, alerts, na, by_alert)) {
        free (by_alert);
        goto out;
    }
    for (size_t a = 0; a < na; a++)
        routes [alert_at [a]] = by_alert [a];          //  moved
    free (by_alert);

    qy_pg_cols_t a;
    qy_pg_cols_init (&a, 10);
    qy_buf_t body, text;
    qy_buf_init (&body);
    qy_buf_init (&text);
    for (size_t i = 0; i < n; i++) {
        const Qy__Delivery *d = ds [i];
        qy_pg_cols_row (&a);
        qy_pg_cols_text (&a, 0, d->key);
        qy_pg_cols_int (&a, 1, d->brand_id);
        if (d->group_id)
            qy_pg_cols_int (&a, 2, d->group_id);
        else
            qy_pg_cols_null (&a, 2);
        qy_pg_cols_text (&a, 3, d->kind);
        //  An unknown priority (a newer or broken sender) is a campaign's, never ahead of actions.
        qy_pg_cols_int (&a, 4, d->priority >= QY__PRIORITY__P_ACTION && d->priority <= QY__PRIORITY__P_CAMPAIGN
                               ? (int) d->priority : QY__PRIORITY__P_CAMPAIGN);
        qy_buf_reset (&body);
        if (routes [i].url) {
            qy_buf_reset (&text);
            notifier_alert_text (d, routes [i].markdown, &text);
            notifier_robot_payload (&routes [i], text.data, &body);
        }
        else
            notifier_payload (d, &body);
        qy_pg_cols_text (&a, 8, routes [i].url);
        qy_pg_cols_text (&a, 5, body.data);
        qy_pg_cols_text (&a, 6, d->source ? d->source : "");
        qy_pg_cols_text (&a, 7, d->event_id ? d->event_id : "");
        //  The member a post mentions first, or an action concerns: per-member
        //  limits. A post to everyone (@all) concerns no one member.
        const char *member = strcmp (d->kind, "action") == 0 ? d->member
                           : d->n_mentions && !d->at_all && strcmp (d->mentions [0], "@all") != 0 ? d->mentions [0] : NULL;
        qy_pg_cols_text (&a, 9, member && *member ? member : NULL);
    }
    const char *p [12];
    qy_pg_cols_params (&a, p);
    char max [16], lease [16];
    bool taking = take && take->max > 0;
    if (taking) {
        qy_snprintf (max, sizeof (max), "%d", take->max);
        qy_snprintf (lease, sizeof (lease), "%d", take->lease_s);
        p [10] = max;
        p [11] = lease;
    }
    PGresult *res;
    if (qy_pg_run (pg, "delivery insert", taking ? s_insert_taking_sql : s_insert_sql, taking ? 12 : 10, p, &res)) {
        rc = s_inserted (res, take);
        PQclear (res);
    }
    qy_pg_cols_free (&a);
    qy_buf_free (&body);
    qy_buf_free (&text);
out:
    for (size_t i = 0; i < n; i++)
        notifier_route_clear (&routes [i]);
    free (routes);
    free (alerts);
    free (alert_at);
    return rc;
}

int notifier_store_claim (qy_pg_t *pg, int max, int cap, int lease_s, const notifier_served_t *served,
                          notifier_job_t **jobs)
{
    char m [16], l [16];
    qy_snprintf (m, sizeof (m), "%d", max);
    qy_snprintf (l, sizeof (l), "%d", lease_s);
    qy_pg_cols_t sv;
    qy_pg_cols_init (&sv, 2);
    for (size_t i = 0; served && i < served->n; i++) {
        qy_pg_cols_row (&sv);
        qy_pg_cols_int (&sv, 0, served->brand [i]);
        qy_pg_cols_int (&sv, 1, served->at [i]);
    }
    const char *p [4] = { m, l };
    qy_pg_cols_params (&sv, p + 2);
    PGresult *res;
    //  Most urgent priority first; within a priority, brands take turns
    //  (the n-th due delivery of every brand before the n+1-th of any, and
    //  among equals the brand served least recently), so one brand's
    //  backlog never starves another's. A 'sending' row whose
    //  lease ran out belongs to a notifier that died mid-flight: it is taken
    //  again (the gateway dedups by Idempotency-Key).
    //  Only each brand's first $1 due rows can be among the $1 picked, so
    //  only those are read: the brands with pending rows are found by
    //  skipping through deliveries_pending (one probe per brand), and each
    //  brand's first rows in its order, not the whole backlog.
    //  Each LIMIT $1 is bounded by cap (a literal: the most ever claimed),
    //  so the statement's generic plan is as good as a custom one and it
    //  is planned once per connection instead of once per claim
    //  (qy_pg_run_generic).
    char *sql = qy_printf (
            "WITH RECURSIVE pb AS ("
            "       (SELECT brand_id FROM deliveries WHERE status = 'pending' ORDER BY brand_id LIMIT 1) "
            "       UNION ALL "
            "       SELECT (SELECT d.brand_id FROM deliveries d WHERE d.status = 'pending' AND d.brand_id > pb.brand_id "
            "               ORDER BY d.brand_id LIMIT 1) FROM pb WHERE pb.brand_id IS NOT NULL), "
            "     cand AS (SELECT x.* FROM pb CROSS JOIN LATERAL (SELECT * FROM ("
            "                SELECT key, brand_id, priority, next_attempt_at FROM deliveries d "
            "                WHERE d.brand_id = pb.brand_id AND d.status = 'pending' AND d.next_attempt_at <= now () "
            "                ORDER BY d.priority, d.next_attempt_at, d.key LIMIT $1) y LIMIT %d) x "
            "              UNION ALL "
            "              SELECT key, brand_id, priority, next_attempt_at FROM deliveries "
            "              WHERE status = 'sending' AND lease_until < now ()), "
            "     due AS (SELECT key, brand_id, priority, next_attempt_at, "
            "                    row_number () OVER (PARTITION BY brand_id, priority ORDER BY next_attempt_at, key) AS turn "
            "             FROM cand), "
            "     pick AS (SELECT key FROM ("
            "              SELECT key FROM due LEFT JOIN unnest ($3::bigint[], $4::bigint[]) AS s (b, t) ON s.b = due.brand_id "
            "              ORDER BY priority, turn, coalesce (s.t, 0), next_attempt_at, key LIMIT $1) q LIMIT %d), "
            "     c AS (SELECT d.key, d.status AS was FROM deliveries d JOIN pick USING (key) "
            "           WHERE (d.status = 'pending' AND d.next_attempt_at <= now ()) "
            "              OR (d.status = 'sending' AND d.lease_until < now ()) "
            "           FOR UPDATE OF d SKIP LOCKED) "
            "UPDATE deliveries d SET status = 'sending', lease_until = now () + $2::int * interval '1 second', "
            "       attempts = d.attempts + 1 "
            "FROM c, brands b WHERE d.key = c.key AND b.id = d.brand_id "
            "RETURNING d.key, d.brand_id, d.payload::text, d.attempts, coalesce (d.dest_url, b.gateway_url), "
            "          CASE WHEN d.dest_url IS NULL THEN b.gateway_token END, "
            "          (extract (epoch FROM d.created_at) * 1000000)::bigint, d.priority, d.kind, "
            "          coalesce (d.group_id, 0), coalesce (d.member, ''), d.dest_url IS NOT NULL, "
            "          c.was = 'sending' OR (d.attempts > 1 AND d.http_status IS NULL AND d.last_error IS NOT NULL)",
            cap, cap);
    bool ok = qy_pg_run_generic (pg, "claim", sql, 4, p, &res);
    free (sql);
    if (!ok) {
        qy_pg_cols_free (&sv);
        return -1;
    }
    qy_pg_cols_free (&sv);
    int n = PQntuples (res);
    *jobs = qy_calloc ((size_t) (n ? n : 1), sizeof (notifier_job_t));
    for (int r = 0; r < n; r++)
        s_job_of (res, r, &(*jobs) [r]);
    PQclear (res);
    return n;
}

void notifier_job_clear (notifier_job_t *job)
{
    free (job->key);
    free (job->payload);
    free (job->url);
    free (job->token);
    free (job->kind);
    free (job->member);
    memset (job, 0, sizeof (*job));
}

void notifier_jobs_free (notifier_job_t *jobs, int n)
{
    for (int i = 0; i < n; i++)
        notifier_job_clear (&jobs [i]);
    free (jobs);
}

int notifier_store_delivered (qy_pg_t *pg, char *const *keys, const long *status, size_t n)
{
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 2);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&cols);
        qy_pg_cols_text (&cols, 0, keys [i]);
        qy_pg_cols_int (&cols, 1, status [i]);
    }
    const char *p [2];
    qy_pg_cols_params (&cols, p);
    bool ok = qy_pg_run (pg, "delivered",
        "UPDATE deliveries d SET status = 'delivered', delivered_at = now (), http_status = x.s, lease_until = NULL, "
        "last_error = NULL FROM unnest ($1::text[], $2::int[]) AS x (k, s) WHERE d.key = x.k", 2, p, NULL);
    qy_pg_cols_free (&cols);
    return ok ? 0 : -1;
}

//  The outcomes of a send are fenced by the claim they answer: the row must
//  still be 'sending' with the attempt this replica claimed. A replica that
//  lost its lease (a send slower than the lease, a stalled loop) and whose
//  row another replica took meanwhile changes nothing: neither sends the
//  row back to pending after the other delivered it, nor dead-letters it.
//  1 = the lease was lost.
static int s_fenced (qy_pg_t *pg, const char *context, const char *sql, int n, const char *const *p)
{
    PGresult *res;
    if (!qy_pg_run (pg, context, sql, n, p, &res))
        return -1;
    int updated = atoi (PQcmdTuples (res));
    PQclear (res);
    return updated ? 0 : 1;
}

int notifier_store_retry (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error, int64_t delay_ms)
{
    char st [16], d [QY_PG_I64_LEN], a [16];
    qy_snprintf (st, sizeof (st), "%ld", http_status);
    qy_pg_i64 (d, delay_ms);
    qy_snprintf (a, sizeof (a), "%d", job->attempts);
    const char *p [] = { job->key, http_status ? st : NULL, error, d, a };
    return s_fenced (pg, "retry",
        "UPDATE deliveries SET status = 'pending', http_status = $2, last_error = $3, lease_until = NULL, "
        "next_attempt_at = now () + $4::bigint * interval '1 millisecond' "
        "WHERE key = $1 AND status = 'sending' AND attempts = $5::int", 5, p);
}

//  The row and its dead letter in one transaction: a dead letter that
//  failed to be written is tried again with its row, not lost behind a row
//  already marked dead.
int notifier_store_dead (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error)
{
    char st [16], a [16];
    qy_snprintf (st, sizeof (st), "%ld", http_status);
    qy_snprintf (a, sizeof (a), "%d", job->attempts);
    const char *p [] = { job->key, http_status ? st : NULL, error, a };
    if (!qy_pg_run (pg, "dead", "BEGIN", 0, NULL, NULL))
        return -1;
    int rc = s_fenced (pg, "dead",
        "UPDATE deliveries SET status = 'dead', http_status = $2, last_error = $3, lease_until = NULL "
        "WHERE key = $1 AND status = 'sending' AND attempts = $4::int", 4, p);
    if (rc == 0) {
        char *reason = qy_printf ("delivery failed after %d attempts: %s", job->attempts, error);
        rc = qy_deadletter (pg, job->brand_id, NULL, "notifier", job->key, reason, job->payload, strlen (job->payload));
        free (reason);
    }
    if (rc >= 0 && qy_pg_run (pg, "dead", "COMMIT", 0, NULL, NULL))
        return rc;
    PQclear (qy_pg_exec (pg, "ROLLBACK", 0, NULL));
    return -1;
}

int notifier_store_defer_all (qy_pg_t *pg, const notifier_job_t *const *jobs, const int64_t *delay_ms,
                              const char *const *why, size_t n)
{
    if (n == 0)
        return 0;
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 4);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&cols);
        qy_pg_cols_text (&cols, 0, jobs [i]->key);
        qy_pg_cols_int (&cols, 1, delay_ms [i]);
        qy_pg_cols_text (&cols, 2, why [i]);
        qy_pg_cols_int (&cols, 3, jobs [i]->attempts);
    }
    const char *p [4];
    qy_pg_cols_params (&cols, p);
    PGresult *res;
    //  Under its generic plan (qy_pg_run_generic): a look-up by key per row
    //  whatever the arrays hold. Left to PostgreSQL's default it was
    //  planned afresh at every call (its custom plans, knowing the arrays,
    //  always looked cheaper), a microsecond of planning per event at
    //  5,000 events/s when a limit binds.
    bool ok = qy_pg_run_generic (pg, "defer",
        "UPDATE deliveries d SET status = 'pending', attempts = greatest (d.attempts - 1, 0), lease_until = NULL, "
        "last_error = x.w, next_attempt_at = now () + x.ms * interval '1 millisecond' "
        "FROM unnest ($1::text[], $2::bigint[], $3::text[], $4::int[]) AS x (k, ms, w, a) "
        "WHERE d.key = x.k AND d.status = 'sending' AND d.attempts = x.a", 4, p, &res);
    qy_pg_cols_free (&cols);
    if (!ok)
        return -1;
    int updated = atoi (PQcmdTuples (res));
    PQclear (res);
    return updated;
}

int notifier_store_defer (qy_pg_t *pg, const notifier_job_t *job, int64_t delay_ms, const char *why)
{
    int updated = notifier_store_defer_all (pg, &job, &delay_ms, &why, 1);
    return updated < 0 ? -1 : updated ? 0 : 1;
}

void notifier_served_mark (notifier_served_t *self, int64_t brand_id, int64_t at)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->brand [i] == brand_id) {
            self->at [i] = at;
            return;
        }
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->brand = qy_realloc (self->brand, self->cap * sizeof (int64_t));
        self->at = qy_realloc (self->at, self->cap * sizeof (int64_t));
    }
    self->brand [self->n] = brand_id;
    self->at [self->n++] = at;
}

void notifier_served_free (notifier_served_t *self)
{
    free (self->brand);
    free (self->at);
    memset (self, 0, sizeof (*self));
}
