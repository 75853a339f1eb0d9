//  The main loop's side of an HTTP request: before the batch is written,
//  set aside what cannot be used (dead letters), apply group-level changes
//  and reconcile snapshots; after it committed, write the answer with one
//  result per item. Everything here runs on the main loop's thread and
//  PostgreSQL connection.
#include "ingest_gateway.h"
#include "ingest_reconcile.h"
#include "ingest_wecom.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Contact events stored, by change (ContactChange 1..6).
static qy_metric_t *m_contacts [QY__CONTACT_CHANGE__CONTACT_TRANSFER_FAILED];

static void s_id (char *buf, size_t len, int64_t id)
{
    qy_snprintf (buf, len, "%lld", (long long) id);
}

//  Create the group if new; set its name when one is given. Returns its id, 0 on failure.
static int64_t s_group (qy_pg_t *pg, int64_t brand_id, const char *code, const char *name)
{
    char bid [24];
    s_id (bid, sizeof (bid), brand_id);
    const char *p [] = { bid, code, name };
    PGresult *res;
    if (!qy_pg_run (pg, "gateway group upsert",
            "INSERT INTO groups (brand_id, code, name) VALUES ($1, $2, coalesce ($3, $2)) "
            "ON CONFLICT (brand_id, code) DO UPDATE SET name = coalesce ($3, groups.name) RETURNING id", 3, p, &res))
        return 0;
    int64_t id = qy_pg_int (res, 0, 0);
    PQclear (res);
    return id;
}

static bool s_owner (qy_pg_t *pg, int64_t brand_id, int64_t group_id, const char *owner)
{
    char bid [24], gid [24];
    s_id (bid, sizeof (bid), brand_id);
    s_id (gid, sizeof (gid), group_id);
    const char *p [] = { bid, gid, owner };
    return qy_pg_run (pg, "gateway owner",
        "WITH m AS (INSERT INTO members (brand_id, user_id) VALUES ($1, $3) "
        "           ON CONFLICT (brand_id, user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING id), "
        "     old AS (UPDATE memberships SET role = 'admin' WHERE brand_id = $1 AND group_id = $2 AND role = 'owner' "
        "             AND member_id <> (SELECT id FROM m)) "
        "INSERT INTO memberships (brand_id, group_id, member_id, role) SELECT $1, $2, id, 'owner' FROM m "
        "ON CONFLICT (group_id, member_id) DO UPDATE SET role = 'owner'", 3, p, NULL);
}

//  The memberships of a group, for reconciling. Returns the count, or -1.
static int s_known (qy_pg_t *pg, int64_t brand_id, const char *group, PGresult **res, ingest_known_t **known)
{
    char bid [24];
    s_id (bid, sizeof (bid), brand_id);
    const char *p [] = { bid, group };
    if (!qy_pg_run (pg, "gateway memberships",
            "SELECT m.user_id, coalesce ((extract (epoch FROM ms.joined_at) * 1000000)::bigint, 0), "
            "       coalesce ((extract (epoch FROM ms.left_at) * 1000000)::bigint, 0) "
            "FROM memberships ms JOIN groups g ON g.id = ms.group_id AND g.brand_id = $1 "
            "JOIN members m ON m.id = ms.member_id AND m.brand_id = $1 "
            "WHERE ms.brand_id = $1 AND g.code = $2", 2, p, res))
        return -1;
    int n = PQntuples (*res);
    *known = qy_calloc ((size_t) (n ? n : 1), sizeof (ingest_known_t));
    for (int r = 0; r < n; r++) {
        (*known) [r].userid = PQgetvalue (*res, r, 0);
        (*known) [r].joined_us = qy_pg_int (*res, r, 1);
        (*known) [r].left_us = qy_pg_int (*res, r, 2);
    }
    return n;
}

static int s_reconcile (qy_pg_t *pg, int64_t brand_id, ingest_req_t *req, size_t item,
                        const ingest_snapshot_t *snap, Qy__LeaveReason reason)
{
    PGresult *res;
    ingest_known_t *known;
    int n = s_known (pg, brand_id, snap->group, &res, &known);
    if (n < 0)
        return -1;
    size_t added = ingest_reconcile (req, item, snap, known, (size_t) n, reason);
    qy_log_info ("snapshot brand=%s group=%s members=%zu known=%d events=%zu", req->brand, snap->group,
                 snap->n_members, n, added);
    free (known);
    PQclear (res);
    return 0;
}

//  The contacts row a change adds up to, whatever order WeCom's events
//  arrive in: an add newer than the deletion begins the contact again; a
//  deletion counts only if it is not older than the add; an older add
//  (a retry, or out of order) only moves added_at back.
#define S_CONTACT_SQL \
    "WITH m AS (INSERT INTO members (brand_id, user_id, first_seen_at) VALUES ($1::bigint, $4::text, $8::timestamptz) " \
    "           ON CONFLICT (brand_id, user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING id), " \
    "ch AS (INSERT INTO channels (brand_id, code) SELECT $1, $5::text WHERE $5 IS NOT NULL " \
    "       ON CONFLICT (brand_id, code) DO UPDATE SET code = EXCLUDED.code RETURNING id), " \
    "ev AS (INSERT INTO contact_events (brand_id, event_id, member_id, staff, change, channel_id, detail, at) " \
    "       SELECT $1, $2::text, m.id, $3::text, $6::text, (SELECT id FROM ch), $7::text, $8 FROM m ON CONFLICT DO NOTHING " \
    "       RETURNING member_id, channel_id), " \
    "c AS (INSERT INTO contacts AS c (brand_id, staff, member_id, channel_id, added_at, half, deleted_at, deleted_by, detail, changed_at) " \
    "      SELECT $1, $3, ev.member_id, ev.channel_id, " \
    "             CASE WHEN $6 IN ('added', 'half_added') THEN $8::timestamptz END, $6 = 'half_added', " \
    "             CASE WHEN $6 LIKE 'deleted_by_%' THEN $8::timestamptz END, " \
    "             CASE $6 WHEN 'deleted_by_staff' THEN 'staff' WHEN 'deleted_by_customer' THEN 'customer' END, " \
    "             CASE WHEN $6 = 'deleted_by_staff' THEN $7 END, $8 " \
    "      FROM ev WHERE $6 <> 'transfer_failed' " \
    "      ON CONFLICT (brand_id, staff, member_id) DO UPDATE SET " \
    "        channel_id = CASE WHEN EXCLUDED.added_at > c.deleted_at THEN EXCLUDED.channel_id " \
    "                          ELSE coalesce (c.channel_id, EXCLUDED.channel_id) END, " \
    "        added_at = CASE WHEN EXCLUDED.added_at > c.deleted_at THEN EXCLUDED.added_at " \
    "                        ELSE coalesce (least (c.added_at, EXCLUDED.added_at), c.added_at, EXCLUDED.added_at) END, " \
    "        half = CASE WHEN EXCLUDED.added_at IS NULL THEN c.half " \
    "                    WHEN EXCLUDED.added_at > c.deleted_at THEN EXCLUDED.half ELSE c.half AND EXCLUDED.half END, " \
    "        deleted_at = CASE WHEN EXCLUDED.added_at > c.deleted_at THEN NULL " \
    "                          WHEN EXCLUDED.deleted_at >= coalesce (c.added_at, '-infinity') " \
    "                           AND EXCLUDED.deleted_at >= coalesce (c.deleted_at, '-infinity') THEN EXCLUDED.deleted_at " \
    "                          ELSE c.deleted_at END, " \
    "        deleted_by = CASE WHEN EXCLUDED.added_at > c.deleted_at THEN NULL " \
    "                          WHEN EXCLUDED.deleted_at >= coalesce (c.added_at, '-infinity') " \
    "                           AND EXCLUDED.deleted_at >= coalesce (c.deleted_at, '-infinity') THEN EXCLUDED.deleted_by " \
    "                          ELSE c.deleted_by END, " \
    "        detail = CASE WHEN EXCLUDED.added_at > c.deleted_at THEN NULL " \
    "                      WHEN EXCLUDED.deleted_at >= coalesce (c.deleted_at, '-infinity') " \
    "                       AND EXCLUDED.deleted_at >= coalesce (c.added_at, '-infinity') THEN EXCLUDED.detail ELSE c.detail END, " \
    "        changed_at = greatest (c.changed_at, EXCLUDED.changed_at) RETURNING 1) " \
    "SELECT count(*) FROM ev"

//  Store one CONTACT event (contact_events, and contacts unless a transfer
//  failure) in one statement. *fresh: false when (brand, event id) was
//  stored before. Returns 0, or -1 when PostgreSQL failed.
static int s_contact_store (qy_pg_t *pg, int64_t brand_id, const Qy__Event *ev, bool *fresh)
{
    char bid [24], at [48];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    time_t secs = (time_t) (ev->event_time_us / 1000000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    size_t n = strftime (at, sizeof (at), "%Y-%m-%d %H:%M:%S", &tm);
    qy_snprintf (at + n, sizeof (at) - n, ".%06lld+00", (long long) (ev->event_time_us % 1000000));
    const char *p [] = { bid, ev->msg_id, ev->staff, ev->member, ev->channel && *ev->channel ? ev->channel : NULL,
                         ingest_contact_change_name (ev->contact_change), ev->text && *ev->text ? ev->text : NULL, at };
    PGresult *res;
    if (!qy_pg_run (pg, "contact", S_CONTACT_SQL, 8, p, &res))
        return -1;
    *fresh = qy_pg_int (res, 0, 0) > 0;
    PQclear (res);
    return 0;
}

//  Store the request's contact events; one seen before answers duplicate.
static int s_contacts (qy_pg_t *pg, int64_t brand_id, ingest_req_t *req)
{
    if (!m_contacts [0])
        for (size_t k = 0; k < QY_ARRAY_LEN (m_contacts); k++) {
            const char *name = ingest_contact_change_name ((Qy__ContactChange) (k + 1));
            char *metric = qy_printf ("qy_ingest_contacts_total{change=\"%s\"}", name);
            m_contacts [k] = qy_counter (metric, "WeCom contact events stored (deleted_by_customer: churn)");
            free (metric);
        }
    for (size_t i = 0; i < req->n_contacts; i++) {
        const Qy__Event *ev = req->contacts [i];
        bool fresh = false;
        if (s_contact_store (pg, brand_id, ev, &fresh))
            return -1;
        req->items [req->contact_item [i]].duplicate = !fresh;
        if (!fresh)
            continue;
        qy_metric_add (m_contacts [ev->contact_change - 1], 1);
        qy_log_info ("contact msg_id=%s brand=%s change=%s staff=%s member=%s", ev->msg_id, req->brand,
                     ingest_contact_change_name (ev->contact_change), ev->staff, ev->member);
    }
    return 0;
}

int ingest_gateway_prepare (qy_pg_t *pg, int64_t brand_id, ingest_req_t *req)
{
    for (size_t i = 0; i < req->n_items; i++) {
        ingest_item_t *it = &req->items [i];
        if (!it->error)
            continue;
        char *reason = qy_printf ("%s (field %s)", it->error, it->field ? it->field : "");
        int rc = qy_deadletter (pg, brand_id, req->brand, "ingest", it->id, reason, it->raw, strlen (it->raw));
        free (reason);
        if (rc)
            return -1;
    }
    for (size_t i = 0; i < req->n_gops; i++) {
        ingest_gop_t *g = &req->gops [i];
        if (req->items [g->item].error)
            continue;
        int64_t gid = s_group (pg, brand_id, g->group, g->kind == INGEST_GOP_CREATE || g->kind == INGEST_GOP_RENAME
                                                       ? g->value : NULL);
        if (!gid)
            return -1;
        if (g->kind == INGEST_GOP_OWNER && g->value && !s_owner (pg, brand_id, gid, g->value))
            return -1;
        bool again = false;         //  dismissed twice in one request: reconciled once
        for (size_t k = 0; k < i && g->kind == INGEST_GOP_DISMISS && !again; k++)
            again = req->gops [k].kind == INGEST_GOP_DISMISS && !req->items [req->gops [k].item].error
                 && strcmp (req->gops [k].group, g->group) == 0;
        if (g->kind == INGEST_GOP_DISMISS && !again) {
            //  A dismissed group has nobody left in it: an empty snapshot.
            ingest_snapshot_t empty = { .group = g->group, .fetched_us = g->at_us };
            if (s_reconcile (pg, brand_id, req, g->item, &empty, QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED))
                return -1;
        }
        qy_log_info ("group change brand=%s group=%s change=%d value=%s", req->brand, g->group, (int) g->kind,
                     g->value ? g->value : "-");
    }
    if (s_contacts (pg, brand_id, req))
        return -1;
    if (req->snap) {
        if (!s_group (pg, brand_id, req->snap->group, req->snap->name))
            return -1;
        if (s_reconcile (pg, brand_id, req, 0, req->snap, QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED))
            return -1;
    }
    return 0;
}

void ingest_gateway_error (ingest_job_t *job, unsigned status, const char *error, const char *field,
                           unsigned retry_after_s)
{
    qy_buf_reset (&job->answer);
    qy_buf_puts (&job->answer, "{\"ok\":false,\"error\":");
    qy_buf_json_str (&job->answer, error);
    qy_buf_puts (&job->answer, ",\"field\":");
    qy_buf_json_str (&job->answer, field ? field : "");
    qy_buf_puts (&job->answer, "}\n");
    job->status = status;
    job->retry_after_s = retry_after_s;
}

void ingest_gateway_answer (ingest_job_t *job, const ingest_result_t *results)
{
    ingest_req_t *req = job->req;
    qy_buf_t *b = &job->answer;
    size_t accepted = 0, duplicate = 0, rejected = 0, joins = 0, leaves = 0;
    //  One pass over the events, tallied per item.
    typedef struct { size_t n, dup; const char *error, *field; } tally_t;
    tally_t *tally = qy_calloc (req->n_items ? req->n_items : 1, sizeof (tally_t));
    for (size_t i = 0; i < req->n_items; i++) {
        tally [i].error = req->items [i].error;
        tally [i].field = req->items [i].field;
    }
    for (size_t e = 0; e < req->n_events; e++) {
        tally_t *t = &tally [req->event_item [e]];
        t->n++;
        if (results [e].status == QY__ITEM_STATUS__ACCEPTED) {
            joins += req->events [e]->kind == QY__KIND__JOIN;
            leaves += req->events [e]->kind == QY__KIND__LEAVE;
        }
        else if (results [e].status == QY__ITEM_STATUS__DUPLICATE)
            t->dup++;
        else if (!t->error) {
            t->error = results [e].error;
            t->field = ingest_wecom_field (req->ep, t->error);
        }
    }
    qy_buf_t items;
    qy_buf_init (&items);
    for (size_t i = 0; i < req->n_items; i++) {
        ingest_item_t *it = &req->items [i];
        const tally_t *t = &tally [i];
        bool all_dup = (t->n && t->dup == t->n) || it->duplicate;
        const char *status = t->error ? "rejected" : all_dup ? "duplicate" : "accepted";
        accepted += !t->error && !all_dup;
        duplicate += !t->error && all_dup;
        rejected += t->error != NULL;
        qy_buf_puts (&items, i ? ",{\"id\":" : "{\"id\":");
        qy_buf_json_str (&items, it->id ? it->id : "");
        qy_buf_printf (&items, ",\"status\":\"%s\",\"events\":%zu", status, t->n);
        if (t->error) {
            qy_buf_puts (&items, ",\"error\":");
            qy_buf_json_str (&items, t->error);
            qy_buf_puts (&items, ",\"field\":");
            qy_buf_json_str (&items, t->field ? t->field : "");
        }
        qy_buf_puts (&items, "}");
    }
    free (tally);
    bool all_bad = rejected && rejected == req->n_items;
    qy_buf_reset (b);
    qy_buf_printf (b, "{\"ok\":%s,\"accepted\":%zu,\"duplicate\":%zu,\"rejected\":%zu", all_bad ? "false" : "true",
                   accepted, duplicate, rejected);
    if (req->snap || req->n_gops)
        qy_buf_printf (b, ",\"joins\":%zu,\"leaves\":%zu", joins, leaves);
    qy_buf_puts (b, ",\"results\":[");
    qy_buf_append (b, items.data, items.len);
    qy_buf_puts (b, "]}\n");
    qy_buf_free (&items);
    //  Every item refused: the request as a whole was bad input.
    job->status = all_bad ? 400 : 200;
    job->retry_after_s = 0;
}
