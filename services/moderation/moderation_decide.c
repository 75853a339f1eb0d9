//  Operators' decisions on violations and the learning they teach (see
//  moderation_decide.h). Moved here from qyctl so the console's review
//  queue runs exactly what `qyctl moderation overturn` runs.
#include "moderation_decide.h"
#include "moderation_judge.h"
#include "qy/util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Run SQL; NULL with err filled when PostgreSQL refused it.
static PGresult *s_exec (PGconn *conn, const char *sql, int n, const char *const *p, char *err, size_t errlen)
{
    PGresult *res = PQexecParams (conn, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    qy_snprintf (err, errlen, "%s", PQresultErrorMessage (res));
    PQclear (res);
    return NULL;
}

static bool s_run (PGconn *conn, const char *sql, int n, const char *const *p, char *err, size_t errlen)
{
    PGresult *res = s_exec (conn, sql, n, p, err, errlen);
    PQclear (res);
    return res != NULL;
}

static const char *s_tmpdir (void)
{
    return getenv ("TMPDIR") && *getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
}

//  Which model an operator's decision on a violation of category teaches.
static const char *s_model_of (const char *category)
{
    if (strcmp (category, "abuse") == 0)
        return "abuse";
    if (strcmp (category, "ad") == 0 || strcmp (category, "fraud") == 0 || strcmp (category, "gambling") == 0
        || strcmp (category, "porn") == 0 || strcmp (category, "spam_wave") == 0)
        return "ad";
    return NULL;            //  flood, format: behaviour, nothing for a text model to learn
}

judge_rule_row_t *moderation_brand_rows (PGconn *conn, const char *bid, const judge_rule_row_t *proposed,
                                         size_t nproposed, moderation_policy_t *pol, size_t *n_out,
                                         char *err, size_t errlen)
{
    const char *p [] = { bid };
    PGresult *rr = NULL;
    size_t n = nproposed;
    if (!proposed) {
        rr = s_exec (conn, "SELECT name, kind, category, pattern, weight, dry_run FROM rules "
                     "WHERE brand_id = $1 AND enabled ORDER BY name", 1, p, err, errlen);
        if (!rr)
            return NULL;
        n = (size_t) PQntuples (rr);
    }
    judge_rule_row_t *rows = qy_calloc (n + 1, sizeof (*rows));
    for (size_t i = 0; i < n; i++)
        rows [i] = proposed ? proposed [i]
                 : (judge_rule_row_t) { PQgetvalue (rr, (int) i, 0), PQgetvalue (rr, (int) i, 1), PQgetvalue (rr, (int) i, 2),
                                        PQgetvalue (rr, (int) i, 3), strtod (PQgetvalue (rr, (int) i, 4), NULL),
                                        PQgetvalue (rr, (int) i, 5) [0] == 't' };
    //  Flood rules are behaviour, counted live in Redis: not replayable offline.
    size_t k = 0;
    char perr [256];
    for (size_t i = 0; i < n; i++)
        if (strcmp (rows [i].kind, "flood"))
            rows [k++] = rows [i];
        else
        if (pol)
            moderation_policy_flood_rule (pol, &rows [i], perr, sizeof (perr));
    judge_rule_row_t *merged = NULL;
    PGresult *lr = s_exec (conn, "SELECT list, category, value FROM moderation_lists WHERE brand_id = $1", 1, p, err, errlen);
    if (lr) {
        size_t nl = (size_t) PQntuples (lr);
        moderation_list_row_t *lists = qy_calloc (nl + 1, sizeof (*lists));
        for (size_t i = 0; i < nl; i++)
            lists [i] = (moderation_list_row_t) { PQgetvalue (lr, (int) i, 0), PQgetvalue (lr, (int) i, 1), PQgetvalue (lr, (int) i, 2) };
        merged = moderation_rows_merge (rows, k, lists, nl, n_out);
        free (lists);
        PQclear (lr);
    }
    free (rows);
    PQclear (rr);
    return merged;
}

int moderation_brand_model (PGconn *conn, const char *bid, const char *cat, char *path, size_t len,
                            long long *examples, char *err, size_t errlen)
{
    const char *p [] = { bid, cat };
    PGresult *res = s_exec (conn, "SELECT model, examples FROM moderation_models WHERE brand_id = $1 AND category = $2 "
                            "ORDER BY id DESC LIMIT 1", 2, p, err, errlen);
    if (!res)
        return -1;
    path [0] = 0;
    int rc = 0;
    if (PQntuples (res)) {
        size_t n;
        unsigned char *bytes = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 0), &n);
        if (examples)
            *examples = strtoll (PQgetvalue (res, 0, 1), NULL, 10);
        qy_snprintf (path, len, "%s/qy-model-XXXXXX", s_tmpdir ());
        int fd = mkstemp (path);
        if (fd < 0 || !bytes || write (fd, bytes, n) != (ssize_t) n) {
            qy_snprintf (err, errlen, "cannot write %s: %s", path, strerror (errno));
            rc = -1;
        }
        if (fd >= 0)
            close (fd);
        PQfreemem (bytes);
    }
    PQclear (res);
    return rc;
}

//  A judge of the brand's rules (moderation_judge_build, as the service
//  builds it) with the model to teach: the brand's own (own, may be NULL),
//  else the shipped one.
static judge_t *s_learning_judge (PGconn *conn, const char *bid, const char *cat, const char *own,
                                  const char *shipped, char *err, size_t errlen)
{
    //  The model learns from the rules' hits as well as the text (judge_learn),
    //  so it is taught under the brand's own rules, as the service judges.
    size_t nrows = 0;
    judge_rule_row_t *rows = moderation_brand_rows (conn, bid, NULL, 0, NULL, &nrows, err, errlen);
    if (!rows)
        return NULL;
    moderation_judge_spec_t spec = { 0 };
    int m = strcmp (cat, "ad") == 0 ? MODERATION_MODEL_AD : strcmp (cat, "abuse") == 0 ? MODERATION_MODEL_ABUSE : -1;
    if (m >= 0) {
        spec.own [m] = own;
        spec.shipped [m] = shipped;
    }
    //  A brand with no rules of its own is taught under the built-in ones.
    size_t nuse = nrows;
    const judge_rule_row_t *use = nrows ? rows : judge_default_rules (&nuse);
    moderation_judge_built_t built;
    moderation_judge_build (bid, use, nuse, &spec, &built, err, errlen);
    moderation_rows_free (&rows, nrows);
    return built.judge;
}

//  The taught model's bytes (from a temporary file), NULL on error.
static char *s_taught_bytes (judge_t *j, const char *cat, const char *text, int label, size_t *len, char *err, size_t errlen)
{
    char out [256];
    qy_snprintf (out, sizeof (out), "%s/qy-model-XXXXXX", s_tmpdir ());
    int fd = mkstemp (out);
    if (fd < 0) {
        qy_snprintf (err, errlen, "cannot create %s: %s", out, strerror (errno));
        return NULL;
    }
    close (fd);
    char *bytes = NULL;
    FILE *f = NULL;
    if (judge_learn (j, cat, text, label) || judge_save_model (j, cat, out) || !(f = fopen (out, "rb")))
        qy_snprintf (err, errlen, "cannot update the %s model", cat);
    else {
        qy_buf_t b;
        qy_buf_init (&b);
        if (qy_buf_read_stream (&b, f)) {
            *len = b.len;
            bytes = b.data;
        }
        else {
            qy_snprintf (err, errlen, "cannot read %s", out);
            qy_buf_free (&b);
        }
        fclose (f);
    }
    unlink (out);
    return bytes;
}

//  One labelled text for a brand's model (an operator's decision).
typedef struct {
    const char *bid, *cat;      //  the brand's model for this category
    const char *text;
    int         label;          //  1 the text is a violation, 0 it is not
    const char *reason, *actor; //  recorded with the new version
} s_lesson_t;

//  Teach the brand's model for cat one labelled text and store the result
//  as a new version in moderation_models (the service reloads on its
//  NOTIFY). Serialised per brand and category so two decisions never lose
//  one another.
static int s_learn (PGconn *conn, const s_lesson_t *l, moderation_decision_t *out, char *err, size_t errlen)
{
    const char *bid = l->bid, *cat = l->cat;
    const char *lp [] = { bid, cat };
    if (!s_run (conn, "SELECT pg_advisory_xact_lock (hashtextextended ('qy_model:' || $1 || ':' || $2, 7))", 2, lp, err, errlen))
        return -1;
    char in [256] = "", shipped [1024];
    long long examples = 0;
    if (moderation_brand_model (conn, bid, cat, in, sizeof (in), &examples, err, errlen))
        return -1;
    judge_model_default_path (cat, shipped, sizeof (shipped));
    judge_t *j = s_learning_judge (conn, bid, cat, in [0] ? in : NULL, shipped, err, errlen);
    if (in [0])
        unlink (in);
    if (!j)
        return -1;
    size_t len = 0;
    char *bytes = s_taught_bytes (j, cat, l->text, l->label, &len, err, errlen);
    judge_destroy (&j);
    if (!bytes)
        return -1;
    char ex [24];
    qy_snprintf (ex, sizeof (ex), "%lld", examples + 1);
    const char *ip [] = { bid, cat, bytes, ex, l->reason, l->actor };
    int lens [] = { 0, 0, (int) len, 0, 0, 0 };
    int formats [] = { 0, 0, 1, 0, 0, 0 };
    PGresult *res = PQexecParams (conn, "INSERT INTO moderation_models (brand_id, category, model, examples, reason, created_by) "
                                  "VALUES ($1, $2, $3::bytea, $4, $5, $6) RETURNING id", 6, NULL, ip, lens, formats, 0);
    free (bytes);
    if (PQresultStatus (res) != PGRES_TUPLES_OK) {
        qy_snprintf (err, errlen, "%s", PQresultErrorMessage (res));
        PQclear (res);
        return -1;
    }
    qy_strlcpy (out->model, cat, sizeof (out->model));
    out->model_version = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    out->examples = examples + 1;
    PQclear (res);
    //  Keep the ten newest versions (rollback material), drop the rest.
    return s_run (conn, "DELETE FROM moderation_models WHERE brand_id = $1 AND category = $2 AND id NOT IN "
                  "(SELECT id FROM moderation_models WHERE brand_id = $1 AND category = $2 ORDER BY id DESC LIMIT 10)",
                  2, lp, err, errlen) ? 0 : -1;
}

//  Overturn's effects beyond the status: the block the violation caused is
//  lifted here; the strike is lifted by the status (strikes count only
//  what is not overturned), the mute by the service when it resyncs the
//  member from PostgreSQL on the notification.
static int s_lift (PGconn *conn, const char *bid, const char *member, const char *id, bool muting,
                   moderation_decision_t *out, char *err, size_t errlen)
{
    const char *bp [] = { bid, member, id };
    PGresult *b = s_exec (conn, "UPDATE blocks SET lifted_at = now () WHERE brand_id = $1 AND member_id = $2 "
                          "AND violation_id = $3 AND lifted_at IS NULL RETURNING 1", 3, bp, err, errlen);
    if (!b)
        return -1;
    out->lifted_block = PQntuples (b) > 0;
    PQclear (b);
    if (muting) {
        const char *mp [] = { bid, member };
        PGresult *m = s_exec (conn, "SELECT 1 FROM violations WHERE brand_id = $1 AND member_id = $2 AND mute_until > now () "
                              "AND status <> 'overturned'", 2, mp, err, errlen);
        if (!m)
            return -1;
        out->lifted_mute = PQntuples (m) == 0;
        PQclear (m);
    }
    char note [96];
    qy_snprintf (note, sizeof (note), "moderation_member:%s:%s", bid, member);
    const char *np [] = { note };
    return s_run (conn, "SELECT pg_notify ('qy_config', $1)", 1, np, err, errlen) ? 0 : -1;
}

//  The members' reports of a violation decided: found true or false (a
//  reporter's false reports weigh their later ones down; nobody is
//  punished for one). A confirmed report of private poaching (私加) counts
//  on the reported member's content ladder: its flag row becomes a content
//  strike (numbered after the member's live strikes of the last 90 days),
//  kept in out->charged.
static int s_decide_reports (PGconn *conn, const char *id, const char *bid, bool overturn,
                             moderation_decision_t *out, char *err, size_t errlen)
{
    const char *p [] = { id, bid, overturn ? "false" : "confirmed" };
    if (!s_run (conn, "UPDATE moderation_reports SET status = $3 WHERE violation_id = $1::bigint AND brand_id = $2::bigint",
                3, p, err, errlen))
        return -1;
    if (overturn)
        return 0;
    PGresult *r = s_exec (conn,
        "UPDATE violations v SET kind = 'content', category = CASE v.kind WHEN 'flag' THEN 'ad' ELSE v.category END, "
        "  strike = 1 + (SELECT count (*) FROM violations w WHERE w.brand_id = v.brand_id AND w.member_id = v.member_id "
        "                AND w.strike > 0 AND w.status <> 'overturned' AND w.created_at > now () - interval '90 days') "
        "WHERE v.id = $1::bigint AND v.brand_id = $2::bigint AND v.strike = 0 AND v.member_id IS NOT NULL "
        "  AND EXISTS (SELECT 1 FROM moderation_reports r WHERE r.violation_id = v.id AND r.reason = 'poaching') "
        "RETURNING v.strike", 2, p, err, errlen);
    if (!r)
        return -1;
    out->charged = PQntuples (r) ? atoi (PQgetvalue (r, 0, 0)) : 0;
    PQclear (r);
    return 0;
}

static int s_audit (PGconn *conn, const char *bid, bool overturn, const char *id, const char *actor, const char *reason,
                    const moderation_decision_t *out, char *err, size_t errlen)
{
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{\"reason\":");
    qy_buf_json_str (&d, reason);
    qy_buf_printf (&d, ",\"previous\":\"%s\",\"action\":\"%s\",\"strike\":%d,\"lifted_mute\":%s,\"lifted_block\":%s}",
                   out->previous, out->action, out->strike, out->lifted_mute ? "true" : "false",
                   out->lifted_block ? "true" : "false");
    const char *p [] = { bid, actor, overturn ? "violation.overturn" : "violation.confirm", "violation", id, d.data };
    bool ok = s_run (conn, "INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
                     "VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, p, err, errlen);
    qy_buf_free (&d);
    return ok ? 0 : -1;
}

moderation_decide_rc_t moderation_decide (PGconn *conn, const moderation_decide_in_t *in, moderation_decision_t *out,
                                          char *err, size_t errlen)
{
    const char *bid = in->bid, *id = in->id, *actor = in->actor, *reason = in->reason;
    bool overturn = in->overturn, learn = in->learn;
    memset (out, 0, sizeof (*out));
    const char *p [] = { id, bid };
    PGresult *v = s_exec (conn, "SELECT brand_id, coalesce (member_id, 0), status, strike, action, category, msg_id, event_time, "
                          "       coalesce (excerpt, ''), mute_until > now () FROM violations "
                          "WHERE id = $1::bigint AND brand_id = $2 FOR UPDATE", 2, p, err, errlen);
    if (!v)
        return MODERATION_DECIDE_ERROR;
    moderation_decide_rc_t rc = MODERATION_DECIDED;
    const char *want = overturn ? "overturned" : "confirmed";
    if (PQntuples (v) == 0)
        rc = MODERATION_NOT_FOUND;
    else
    if (strcmp (PQgetvalue (v, 0, 2), want) == 0)
        rc = MODERATION_ALREADY;
    if (rc != MODERATION_DECIDED) {
        PQclear (v);
        return rc;
    }
    qy_strlcpy (out->previous, PQgetvalue (v, 0, 2), sizeof (out->previous));
    qy_strlcpy (out->action, PQgetvalue (v, 0, 4), sizeof (out->action));
    out->strike = atoi (PQgetvalue (v, 0, 3));
    const char *up [] = { id, bid, want, actor, reason };
    if (!s_run (conn, "UPDATE violations SET status = $3, decided_by = $4, decided_at = now (), decision_reason = $5 "
                "WHERE id = $1 AND brand_id = $2", 5, up, err, errlen)
        || s_decide_reports (conn, id, bid, overturn, out, err, errlen)
        || (overturn && s_lift (conn, bid, PQgetvalue (v, 0, 1), id, PQgetvalue (v, 0, 9) [0] == 't', out, err, errlen))
        || s_audit (conn, bid, overturn, id, actor, reason, out, err, errlen))
        rc = MODERATION_DECIDE_ERROR;
    //  Teach the classifier with the message as it was sent (the archive),
    //  or the excerpt kept with the violation.
    const char *cat = s_model_of (PQgetvalue (v, 0, 5));
    if (rc == MODERATION_DECIDED && cat && learn) {
        const char *mp [] = { bid, PQgetvalue (v, 0, 6), PQgetvalue (v, 0, 7) };
        PGresult *m = s_exec (conn, "SELECT text FROM messages WHERE brand_id = $1 AND msg_id = $2 AND event_time = $3::timestamptz",
                              3, mp, err, errlen);
        if (!m)
            rc = MODERATION_DECIDE_ERROR;
        else {
            const char *text = PQntuples (m) && *PQgetvalue (m, 0, 0) ? PQgetvalue (m, 0, 0) : PQgetvalue (v, 0, 8);
            char why [96];
            qy_snprintf (why, sizeof (why), "%s violation %s", overturn ? "overturn" : "confirm", id);
            s_lesson_t lesson = { bid, cat, text, overturn ? 0 : 1, why, actor };
            if (*text && s_learn (conn, &lesson, out, err, errlen))
                rc = MODERATION_DECIDE_ERROR;
            PQclear (m);
        }
    }
    PQclear (v);
    return rc;
}
