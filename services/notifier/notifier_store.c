#include "notifier.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

int notifier_store_insert (qy_pg_t *pg, Qy__Delivery **ds, size_t n)
{
    qy_buf_t a [8];
    for (int k = 0; k < 8; k++) {
        qy_buf_init (&a [k]);
        qy_buf_puts (&a [k], "{");
    }
    qy_buf_t body;
    qy_buf_init (&body);
    for (size_t i = 0; i < n; i++) {
        const Qy__Delivery *d = ds [i];
        const char *sep = i ? "," : "";
        for (int k = 0; k < 8; k++)
            qy_buf_puts (&a [k], sep);
        qy_buf_pg_array_elem (&a [0], d->key);
        qy_buf_printf (&a [1], "%lld", (long long) d->brand_id);
        if (d->group_id)
            qy_buf_printf (&a [2], "%lld", (long long) d->group_id);
        else
            qy_buf_puts (&a [2], "NULL");
        qy_buf_pg_array_elem (&a [3], d->kind);
        qy_buf_printf (&a [4], "%d", d->priority ? (int) d->priority : 3);
        qy_buf_reset (&body);
        notifier_payload (d, &body);
        qy_buf_pg_array_elem (&a [5], body.data);
        qy_buf_pg_array_elem (&a [6], d->source ? d->source : "");
        qy_buf_pg_array_elem (&a [7], d->event_id ? d->event_id : "");
    }
    for (int k = 0; k < 8; k++)
        qy_buf_puts (&a [k], "}");
    const char *p [8];
    for (int k = 0; k < 8; k++)
        p [k] = a [k].data;
    PGresult *res;
    int rc = -1;
    if (qy_pg_run (pg, "delivery insert",
            "INSERT INTO deliveries (key, brand_id, group_id, kind, priority, payload, source, event_id) "
            "SELECT DISTINCT ON (k) k, b, g, t, p, j, s, e "
            "FROM unnest ($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::smallint[], $6::jsonb[], $7::text[], $8::text[]) "
            "AS x (k, b, g, t, p, j, s, e) ON CONFLICT (key) DO NOTHING", 8, p, &res)) {
        rc = atoi (PQcmdTuples (res));
        PQclear (res);
    }
    for (int k = 0; k < 8; k++)
        qy_buf_free (&a [k]);
    qy_buf_free (&body);
    return rc;
}

int notifier_store_claim (qy_pg_t *pg, int max, int lease_s, notifier_job_t **jobs)
{
    char m [16], l [16];
    qy_snprintf (m, sizeof (m), "%d", max);
    qy_snprintf (l, sizeof (l), "%d", lease_s);
    const char *p [] = { m, l };
    PGresult *res;
    //  A 'sending' row whose lease ran out belongs to a notifier that died
    //  mid-flight: it is taken again (the gateway dedups by Idempotency-Key).
    if (!qy_pg_run (pg, "claim",
            "WITH c AS (SELECT key FROM deliveries "
            "           WHERE (status = 'pending' AND next_attempt_at <= now ()) "
            "              OR (status = 'sending' AND lease_until < now ()) "
            "           ORDER BY priority, next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
            "UPDATE deliveries d SET status = 'sending', lease_until = now () + $2::int * interval '1 second', "
            "       attempts = d.attempts + 1 "
            "FROM c, brands b WHERE d.key = c.key AND b.id = d.brand_id "
            "RETURNING d.key, d.brand_id, d.payload::text, d.attempts, b.gateway_url, b.gateway_token, "
            "          (extract (epoch FROM d.created_at) * 1000000)::bigint, d.priority", 2, p, &res))
        return -1;
    int n = PQntuples (res);
    *jobs = qy_calloc ((size_t) (n ? n : 1), sizeof (notifier_job_t));
    for (int r = 0; r < n; r++) {
        notifier_job_t *j = &(*jobs) [r];
        j->key = qy_strdup (PQgetvalue (res, r, 0));
        j->brand_id = qy_pg_int (res, r, 1);
        j->payload = qy_strdup (PQgetvalue (res, r, 2));
        j->attempts = (int) qy_pg_int (res, r, 3);
        j->url = PQgetisnull (res, r, 4) || !*PQgetvalue (res, r, 4) ? NULL : qy_strdup (PQgetvalue (res, r, 4));
        j->token = PQgetisnull (res, r, 5) ? NULL : qy_strdup (PQgetvalue (res, r, 5));
        j->created_us = qy_pg_int (res, r, 6);
        j->priority = (int) qy_pg_int (res, r, 7);
    }
    PQclear (res);
    return n;
}

void notifier_jobs_free (notifier_job_t *jobs, int n)
{
    for (int i = 0; i < n; i++) {
        free (jobs [i].key);
        free (jobs [i].payload);
        free (jobs [i].url);
        free (jobs [i].token);
    }
    free (jobs);
}

int notifier_store_delivered (qy_pg_t *pg, char *const *keys, const long *status, size_t n)
{
    qy_buf_t k, st;
    qy_buf_init (&k);
    qy_buf_init (&st);
    qy_buf_puts (&k, "{");
    qy_buf_puts (&st, "{");
    for (size_t i = 0; i < n; i++) {
        if (i) {
            qy_buf_puts (&k, ",");
            qy_buf_puts (&st, ",");
        }
        qy_buf_pg_array_elem (&k, keys [i]);
        qy_buf_printf (&st, "%ld", status [i]);
    }
    qy_buf_puts (&k, "}");
    qy_buf_puts (&st, "}");
    const char *p [] = { k.data, st.data };
    bool ok = qy_pg_run (pg, "delivered",
        "UPDATE deliveries d SET status = 'delivered', delivered_at = now (), http_status = x.s, lease_until = NULL, "
        "last_error = NULL FROM unnest ($1::text[], $2::int[]) AS x (k, s) WHERE d.key = x.k", 2, p, NULL);
    qy_buf_free (&k);
    qy_buf_free (&st);
    return ok ? 0 : -1;
}

int notifier_store_retry (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error, int64_t delay_ms)
{
    char st [16], d [24];
    qy_snprintf (st, sizeof (st), "%ld", http_status);
    qy_snprintf (d, sizeof (d), "%lld", (long long) delay_ms);
    const char *p [] = { job->key, http_status ? st : NULL, error, d };
    return qy_pg_run (pg, "retry",
        "UPDATE deliveries SET status = 'pending', http_status = $2, last_error = $3, lease_until = NULL, "
        "next_attempt_at = now () + $4::bigint * interval '1 millisecond' WHERE key = $1", 4, p, NULL) ? 0 : -1;
}

int notifier_store_dead (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error)
{
    char st [16];
    qy_snprintf (st, sizeof (st), "%ld", http_status);
    const char *p [] = { job->key, http_status ? st : NULL, error };
    if (!qy_pg_run (pg, "dead",
            "UPDATE deliveries SET status = 'dead', http_status = $2, last_error = $3, lease_until = NULL WHERE key = $1",
            3, p, NULL))
        return -1;
    char *reason = qy_printf ("delivery failed after %d attempts: %s", job->attempts, error);
    int rc = qy_deadletter (pg, job->brand_id, NULL, "notifier", job->key, reason, job->payload, strlen (job->payload));
    free (reason);
    return rc;
}
