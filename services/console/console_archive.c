//  The console over the message archive (会话存档) and moderation: search
//  with highlighted hits, opening a message, the review queue with its
//  evidence, and decisions, which run moderation_decide exactly as
//  `qyctl moderation confirm|overturn` does. Every search and every
//  message opened is written to the audit log. Also the operators' lists:
//  audit log, dead letters, deliveries and rules.
#include "console_int.h"
#include "moderation_decide.h"
#include "moderation_backtest.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

static long s_arg_long (console_req_t *r, const char *name, long def, long min, long max, bool *ok)
{
    long v = def;
    if (*ok && console_long_arg (console_arg (r, name), def, min, max, &v)) {
        console_error (r, 400, "bad parameter %s: want a whole number from %ld to %ld", name, min, max);
        *ok = false;
    }
    return v;
}

//  ------------------------------------------------------------ search

typedef struct {
    const char *q, *member, *group, *store, *kind, *from, *to;
    long        limit, offset;
} s_search_t;

//  The search runs through qy_archive_search (migration 098), which applies
//  the scope itself so that the trigram index serves the pattern.
static void s_search_sql (const s_search_t *s, qy_buf_t *sql, const char **p, int *n, const char *like, const char *days)
{
    char lim [24], off [24];
    qy_snprintf (lim, sizeof (lim), "%ld", s->limit + 1);
    qy_snprintf (off, sizeof (off), "%ld", s->offset);
    const char *v [] = { like, s->from, s->to, days, s->member, s->group, s->store, s->kind };
    for (size_t i = 0; i < QY_ARRAY_LEN (v); i++)
        p [(*n)++] = v [i];
    p [(*n)++] = qy_strdup (lim);
    p [(*n)++] = qy_strdup (off);
    qy_buf_puts (sql,
        "SELECT (extract (epoch FROM m.event_time) * 1000000)::bigint, m.msg_id, m.event_time, g.code, g.name, s.code, "
        "  mb.user_id, mb.nickname, m.kind, coalesce (m.text, '') "
        "FROM qy_archive_search ($1, coalesce ($2::timestamptz, now () - make_interval (days => $4::int)), "
        "  coalesce ($3::timestamptz, now () + interval '1 day'), $5, $6, $7, $8, $9::int, $10::int) m "
        "JOIN groups g ON g.id = m.group_id LEFT JOIN stores s ON s.id = g.store_id "
        "LEFT JOIN members mb ON mb.id = m.member_id ORDER BY m.event_time DESC, m.msg_id");
}

static void s_search_items (console_req_t *r, PGresult *res, const s_search_t *s)
{
    int rows = PQntuples (res);
    qy_buf_reset (&r->out);
    qy_buf_puts (&r->out, "{\"items\":[");
    for (int i = 0; i < rows && i < s->limit; i++) {
        qy_buf_puts (&r->out, i ? ",{\"id\":" : "{\"id\":");
        char *id = qy_printf ("%s.%s", PQgetvalue (res, i, 0), PQgetvalue (res, i, 1));
        qy_buf_json_str (&r->out, id);
        free (id);
        static const char *keys [] = { NULL, "msg_id", "event_time", "group", "group_name", "store", "user_id", "nickname", "kind" };
        for (int c = 1; c < 9; c++) {
            qy_buf_printf (&r->out, ",\"%s\":", keys [c]);
            if (PQgetisnull (res, i, c))
                qy_buf_puts (&r->out, "null");
            else
                qy_buf_json_str (&r->out, PQgetvalue (res, i, c));
        }
        qy_buf_puts (&r->out, ",\"segments\":");
        console_highlight (&r->out, PQgetvalue (res, i, 9), s->q);
        qy_buf_puts (&r->out, "}");
    }
    qy_buf_puts (&r->out, "],\"next\":");
    if (rows > s->limit)
        qy_buf_printf (&r->out, "\"%ld\"", s->offset + s->limit);
    else
        qy_buf_puts (&r->out, "null");
    qy_buf_puts (&r->out, "}\n");
    r->status = 200;
    r->type = "application/json";
}

void console_api_search (console_req_t *r)
{
    bool ok = true;
    s_search_t s = { console_arg (r, "q"), console_arg (r, "member"), console_arg (r, "group"), console_arg (r, "store"),
                     console_arg (r, "kind"), console_arg (r, "from"), console_arg (r, "to"),
                     s_arg_long (r, "limit", 50, 1, 200, &ok), s_arg_long (r, "after", 0, 0, 100000, &ok) };
    if (!ok)
        return;
    if (s.q && strlen (s.q) > 200) {
        console_error (r, 400, "bad parameter q: at most 200 bytes");
        return;
    }
    char *like = NULL, days [24];
    if (s.q) {
        char *esc = console_like_escape (s.q);
        like = qy_printf ("%%%s%%", esc);
        free (esc);
    }
    qy_snprintf (days, sizeof (days), "%ld", r->cfg->search_days);
    qy_buf_t sql;
    qy_buf_init (&sql);
    const char *p [10];
    int n = 0;
    s_search_sql (&s, &sql, p, &n, like, days);
    PGresult *res = console_sql (r, sql.data, n, p);
    qy_buf_free (&sql);
    free (like);
    free ((char *) p [8]);
    free ((char *) p [9]);
    if (!res)
        return;
    s_search_items (r, res, &s);
    json_t *d = json_pack ("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:i}", "q", s.q, "member", s.member, "group", s.group,
                           "store", s.store, "kind", s.kind, "from", s.from, "to", s.to, "hits", PQntuples (res));
    char *detail = json_dumps (d, JSON_COMPACT);
    console_audit (r, console_brand_of (r, NULL), "archive.search", "messages", NULL, detail);
    free (detail);
    json_decref (d);
    PQclear (res);
}

void console_api_message (console_req_t *r)
{
    //  The id is "<event time, unix µs>.<msg_id>", as search answers it.
    const char *id = r->seg [1], *dot = strchr (id, '.');
    char us [24];
    if (!dot || dot == id || (size_t) (dot - id) >= sizeof (us) || strspn (id, "0123456789") != (size_t) (dot - id)) {
        console_error (r, 404, "no such message");
        return;
    }
    qy_snprintf (us, sizeof (us), "%.*s", (int) (dot - id), id);
    const char *p [] = { id, us, dot + 1 };
    PGresult *res = console_sql (r,
        "SELECT json_build_object ('id', $1::text, 'msg_id', m.msg_id, 'event_time', m.event_time, 'group', g.code, "
        "  'group_name', g.name, 'store', s.code, 'user_id', mb.user_id, 'nickname', mb.nickname, 'kind', m.kind, "
        "  'role', m.role, 'text', m.text, 'extra', m.extra, "
        "  'violation', (SELECT json_build_object ('id', v.id, 'category', v.category, 'action', v.action, 'status', v.status) "
        "    FROM violations v WHERE v.brand_id = m.brand_id AND v.msg_id = m.msg_id)), m.brand_id "
        "FROM messages m JOIN groups g ON g.id = m.group_id LEFT JOIN stores s ON s.id = g.store_id "
        "LEFT JOIN members mb ON mb.id = m.member_id "
        "WHERE m.event_time = timestamptz 'epoch' + $2::bigint * interval '1 microsecond' AND m.msg_id = $3 LIMIT 1", 3, p);
    if (!res)
        return;
    if (PQntuples (res) == 0)
        console_error (r, 404, "no such message");
    else
    if (console_audit (r, console_brand_of (r, PQgetvalue (res, 0, 1)), "archive.open", "message", dot + 1, NULL))
        console_reply (r, 200, PQgetvalue (res, 0, 0));
    PQclear (res);
}

//  ------------------------------------------------------------ review queue

//  The evidence of one violation: its rules' scores and the text cut into
//  segments around the hits' byte spans.
static void s_evidence (qy_buf_t *out, const char *hits_json, const char *text, bool original)
{
    json_t *hits = json_loads (hits_json, 0, NULL);
    size_t n = json_is_array (hits) ? json_array_size (hits) : 0;
    long *spans = qy_calloc (2 * n + 2, sizeof (long));
    size_t k = 0, i;
    json_t *h;
    qy_buf_puts (out, ",\"scores\":[");
    json_array_foreach (hits, i, h) {
        json_t *s = json_object_get (h, "start"), *e = json_object_get (h, "end");
        if (original && json_is_integer (s) && json_is_integer (e)) {
            spans [2 * k] = (long) json_integer_value (s);
            spans [2 * k + 1] = (long) json_integer_value (e);
            k++;
        }
        json_t *o = json_pack ("{s:O?, s:O?, s:O?, s:O?}", "rule", json_object_get (h, "rule"), "category",
                               json_object_get (h, "category"), "weight", json_object_get (h, "weight"), "dry_run",
                               json_object_get (h, "dry_run"));
        char *js = json_dumps (o, JSON_COMPACT);
        qy_buf_printf (out, "%s%s", i ? "," : "", js);
        free (js);
        json_decref (o);
    }
    qy_buf_puts (out, "],\"segments\":");
    console_spans (out, text, spans, k);
    free (spans);
    json_decref (hits);
}

static void s_queue_row (qy_buf_t *out, PGresult *res, int i)
{
    static const char *keys [] = { "id", "msg_id", "event_time", "group", "group_name", "store", "user_id", "nickname",
                                   "category", "score", "action", "strike", "mute_until", "status", "would_action" };
    qy_buf_puts (out, i ? ",{" : "{");
    for (int c = 0; c < (int) QY_ARRAY_LEN (keys); c++) {
        qy_buf_printf (out, "%s\"%s\":", c ? "," : "", keys [c]);
        if (PQgetisnull (res, i, c))
            qy_buf_puts (out, "null");
        else
        if (c == 0 || c == 9 || c == 11)
            qy_buf_puts (out, PQgetvalue (res, i, c));
        else
            qy_buf_json_str (out, PQgetvalue (res, i, c));
    }
    qy_buf_printf (out, ",\"rules\":%s,\"history\":%s,\"text\":", PQgetvalue (res, i, 15), PQgetvalue (res, i, 16));
    qy_buf_json_str (out, PQgetvalue (res, i, 18));
    s_evidence (out, PQgetvalue (res, i, 17), PQgetvalue (res, i, 18), PQgetvalue (res, i, 19) [0] == 't');
    qy_buf_puts (out, "}");
}

void console_api_queue (console_req_t *r)
{
    bool ok = true;
    long limit = s_arg_long (r, "limit", 50, 1, 200, &ok), after = s_arg_long (r, "after", 0, 0, 1000000, &ok);
    const char *status = console_arg (r, "status") ? console_arg (r, "status") : "open";
    if (!ok)
        return;
    if (strcmp (status, "open") && strcmp (status, "confirmed") && strcmp (status, "overturned")) {
        console_error (r, 400, "bad parameter status: want open, confirmed or overturned");
        return;
    }
    char lim [24], off [24];
    qy_snprintf (lim, sizeof (lim), "%ld", limit + 1);
    qy_snprintf (off, sizeof (off), "%ld", after);
    const char *p [] = { status, lim, off };
    PGresult *res = console_sql (r,
        "WITH q AS (SELECT * FROM violations WHERE status = $1 AND NOT dry_run ORDER BY id DESC LIMIT $2::int OFFSET $3::int) "
        "SELECT q.id, q.msg_id, q.event_time, g.code, g.name, s.code, mb.user_id, mb.nickname, q.category, "
        "  round (q.score::numeric, 3), q.action, q.strike, q.mute_until, q.status, q.would_action, to_json (q.rules), "
        "  (SELECT json_build_object ('violations', count (*), 'strikes', count (*) FILTER (WHERE h.strike > 0 AND h.status <> 'overturned'), "
        "     'recent', (SELECT coalesce (json_agg (x ORDER BY x.id DESC), '[]') FROM (SELECT id, category, action, status, created_at "
        "       FROM violations h2 WHERE h2.brand_id = q.brand_id AND h2.member_id = q.member_id AND h2.id <> q.id "
        "       ORDER BY id DESC LIMIT 5) x)) "
        "   FROM violations h WHERE h.brand_id = q.brand_id AND h.member_id = q.member_id), "
        "  q.hits::text, coalesce (m.text, q.excerpt, ''), m.text IS NOT NULL "
        "FROM q JOIN groups g ON g.id = q.group_id LEFT JOIN stores s ON s.id = g.store_id "
        "LEFT JOIN members mb ON mb.id = q.member_id "
        "LEFT JOIN messages m ON m.brand_id = q.brand_id AND m.msg_id = q.msg_id AND m.event_time = q.event_time "
        "ORDER BY q.id DESC", 3, p);
    if (!res)
        return;
    qy_buf_reset (&r->out);
    qy_buf_puts (&r->out, "{\"items\":[");
    for (int i = 0; i < PQntuples (res) && i < limit; i++)
        s_queue_row (&r->out, res, i);
    qy_buf_puts (&r->out, "],\"next\":");
    if (PQntuples (res) > limit)
        qy_buf_printf (&r->out, "\"%ld\"", after + limit);
    else
        qy_buf_puts (&r->out, "null");
    qy_buf_puts (&r->out, "}\n");
    r->status = 200;
    r->type = "application/json";
    PQclear (res);
}

//  One decision in its own savepoint: a failure leaves the others done.
static void s_decide_one (console_req_t *r, const char *bid, const char *id, bool overturn, const char *actor,
                          const char *reason, qy_buf_t *out, int *found)
{
    moderation_decision_t d;
    char err [512];
    PQclear (console_sql (r, "SAVEPOINT qy_decide", 0, NULL));
    moderation_decide_in_t in = { bid, id, overturn, actor, reason, true };
    moderation_decide_rc_t rc = moderation_decide (r->pg, &in, &d, err, sizeof (err));
    const char *result = rc == MODERATION_DECIDED ? (overturn ? "overturned" : "confirmed")
                       : rc == MODERATION_NOT_FOUND ? "not_found" : rc == MODERATION_ALREADY ? "already" : "error";
    if (rc == MODERATION_DECIDE_ERROR) {
        qy_log_error ("decision failed violation=%s brand=%s error=%s", id, bid, err);
        PQclear (console_sql (r, "ROLLBACK TO SAVEPOINT qy_decide", 0, NULL));
    }
    else
        PQclear (console_sql (r, "RELEASE SAVEPOINT qy_decide", 0, NULL));
    *found += rc != MODERATION_NOT_FOUND;
    qy_buf_printf (out, "%s{\"id\":%s,\"result\":\"%s\"", out->len > 10 ? "," : "", id, result);
    if (rc == MODERATION_DECIDED)
        qy_buf_printf (out, ",\"strike_lifted\":%s,\"lifted_mute\":%s,\"lifted_block\":%s,\"model\":\"%s\",\"model_version\":%lld",
                       overturn && d.strike ? "true" : "false", d.lifted_mute ? "true" : "false",
                       d.lifted_block ? "true" : "false", d.model, d.model_version);
    qy_buf_puts (out, "}");
}

void console_api_decide (console_req_t *r)
{
    json_t *ids = json_object_get (r->json, "ids");
    const char *decision = json_string_value (json_object_get (r->json, "decision"));
    const char *reason = json_string_value (json_object_get (r->json, "reason"));
    bool shape = json_is_array (ids) && json_array_size (ids) >= 1 && json_array_size (ids) <= 200 && decision
              && (strcmp (decision, "confirm") == 0 || strcmp (decision, "overturn") == 0) && reason && *reason
              && strlen (reason) <= 1000;
    size_t i;
    json_t *v;
    json_array_foreach (ids, i, v)
        shape &= json_is_integer (v) && json_integer_value (v) > 0;
    if (!shape) {
        console_error (r, 400, "send {\"ids\": [violation ids, 1–200], \"decision\": \"confirm\"|\"overturn\", \"reason\": \"…\"}");
        return;
    }
    const char *bid = console_brand (r);
    if (!bid)
        return;
    char actor [160], b [24];
    qy_strlcpy (b, bid, sizeof (b));
    qy_snprintf (actor, sizeof (actor), "console:%s", r->who.login);
    qy_buf_t out;
    qy_buf_init (&out);
    qy_buf_puts (&out, "{\"items\":[");
    int found = 0;
    json_array_foreach (ids, i, v) {
        char id [24];
        qy_snprintf (id, sizeof (id), "%lld", (long long) json_integer_value (v));
        s_decide_one (r, b, id, strcmp (decision, "overturn") == 0, actor, reason, &out, &found);
    }
    qy_buf_puts (&out, "]}\n");
    if (!found)
        console_error (r, 404, "no such violation");
    else
    if (!r->failed)
        console_reply (r, 200, out.data);
    qy_buf_free (&out);
}

//  ------------------------------------------------------------ operators' lists

void console_api_audit (console_req_t *r)
{
    bool ok = true;
    long limit = s_arg_long (r, "limit", 100, 1, 500, &ok), after = s_arg_long (r, "after", 0, 0, 1000000, &ok);
    if (!ok)
        return;
    char lim [24], off [24];
    qy_snprintf (lim, sizeof (lim), "%ld", limit);
    qy_snprintf (off, sizeof (off), "%ld", after);
    const char *p [] = { lim, off, console_arg (r, "action"), console_arg (r, "actor") };
    console_sql_json (r, "audit",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.id DESC), '[]')) FROM ("
        " SELECT id, at, actor, action, object_type, object_id, detail FROM audit_log "
        " WHERE ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR actor = $4) "
        " ORDER BY id DESC LIMIT $1::int OFFSET $2::int) x", 4, p);
}

void console_api_deadletters (console_req_t *r)
{
    const char *state = console_arg (r, "state") ? console_arg (r, "state") : "open";
    console_sql_json (r, "dead letters",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.id DESC), '[]')) FROM ("
        " SELECT id, service, brand_code, msg_id, reason, created_at, state, replays, replay_result, failed_again, "
        "   octet_length (payload) AS bytes FROM dead_letters WHERE ($1 = 'all' OR state = $1) ORDER BY id DESC LIMIT 200) x",
        1, (const char *[]) { state });
}

void console_api_deadletter_resolve (console_req_t *r)
{
    const char *reason = json_string_value (json_object_get (r->json, "reason"));
    if (!reason || !*reason || strlen (reason) > 1000) {
        console_error (r, 400, "send {\"reason\": \"…\"}");
        return;
    }
    char *result = qy_printf ("resolved by console:%s: %s", r->who.login, reason);
    const char *p [] = { r->seg [1], result };
    PGresult *res = console_sql (r, "UPDATE dead_letters SET resolved_at = now (), replay_result = $2 "
                                 "WHERE id = $1::bigint AND resolved_at IS NULL RETURNING brand_id, id", 2, p);
    free (result);
    if (!res)
        return;
    if (PQntuples (res) == 0)
        console_error (r, 404, "no such open dead letter");
    else {
        char *json = qy_printf ("{\"id\":%s,\"state\":\"resolved\"}", PQgetvalue (res, 0, 1));
        console_audited_reply (r, console_brand_of (r, PQgetvalue (res, 0, 0)), "deadletter.resolve", "dead_letter",
                               r->seg [1], json);
        free (json);
    }
    PQclear (res);
}

void console_api_deliveries (console_req_t *r)
{
    console_sql_json (r, "deliveries",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.created_at DESC), '[]')) FROM ("
        " SELECT d.key, d.kind, d.status, d.attempts, d.http_status, d.last_error, d.created_at, d.delivered_at, g.code AS \"group\" "
        " FROM deliveries d LEFT JOIN groups g ON g.id = d.group_id WHERE ($1::text IS NULL OR d.status = $1) "
        " ORDER BY d.created_at DESC LIMIT 200) x", 1, (const char *[]) { console_arg (r, "status") });
}

void console_api_rules (console_req_t *r)
{
    console_sql_json (r, "rules",
        "SELECT json_build_object ('items', (SELECT coalesce (json_agg (x ORDER BY x.name), '[]') FROM ("
        "   SELECT name, kind, category, pattern, weight, dry_run, enabled, updated_at FROM rules) x), "
        " 'lists', (SELECT coalesce (json_agg (l ORDER BY l.list, l.category, l.value), '[]') FROM ("
        "   SELECT list, category, value, created_by, created_at FROM moderation_lists) l), "
        " 'policies', (SELECT coalesce (json_agg (p ORDER BY p.scope, p.scope_key), '[]') FROM ("
        "   SELECT scope, scope_key, settings, updated_by, updated_at FROM moderation_policies) p))", 0, NULL);
}

//  A proposed rule set tried on the archive before it is saved: what
//  `qyctl moderation backtest` runs (moderation_backtest), over the days
//  asked, on the user's scope. Nothing is changed; the run is audited.
void console_api_rules_backtest (console_req_t *r)
{
    const char *tsv = json_string_value (json_object_get (r->json, "rules"));
    json_t *jd = json_object_get (r->json, "days"), *je = json_object_get (r->json, "examples");
    long days = jd ? (long) json_integer_value (jd) : 7, examples = je ? (long) json_integer_value (je) : 20;
    if (!tsv || !*tsv || (jd && !json_is_integer (jd)) || (je && !json_is_integer (je)) || days < 1 || days > 90
        || examples < 0 || examples > 200) {
        console_error (r, 400, "send {\"rules\": \"the proposed rule set as TSV (qyctl moderation backtest --rules)\", "
                               "\"days\": 1–90 (7), \"examples\": 0–200 (20)}");
        return;
    }
    const char *bid = console_brand (r);
    if (!bid)
        return;
    char b [24], d [24], err [512];
    qy_strlcpy (b, bid, sizeof (b));
    qy_snprintf (d, sizeof (d), "%ld", days);
    size_t n = 0;
    judge_rule_row_t *rows = judge_rules_parse_tsv (tsv, strlen (tsv), &n, err, sizeof (err));
    if (!rows) {
        console_error (r, 400, "rules: %s", err);
        return;
    }
    moderation_backtest_t bt;
    moderation_backtest_in_t in = { .bid = b, .days = d, .proposed = rows, .nproposed = n, .examples = (int) examples };
    int rc = moderation_backtest (r->pg, &in, &bt, err, sizeof (err));
    judge_rules_free (&rows, n);
    if (bt.warning)
        qy_log_warn ("backtest warning brand=%s warning=%s", b, bt.warning);
    if (rc)
        console_error (r, strstr (err, "rule set rejected") ? 400 : 500, "%s", err);
    else {
        qy_buf_t out;
        qy_buf_init (&out);
        moderation_backtest_json (&bt, d, "proposed", &out);
        char detail [160];
        qy_snprintf (detail, sizeof (detail), "{\"days\":%ld,\"messages\":%ld,\"changed\":%ld}", days, bt.total, bt.changed);
        if (console_audit (r, b, "rules.backtest", "rules", NULL, detail))
            console_reply (r, 200, out.data);
        qy_buf_free (&out);
    }
    moderation_backtest_free (&bt);
}

//  Save a rule set as `qyctl rules load --file` does: checked whole by the
//  judge (flood limits are counted by moderation, not judged) before any
//  row is stored, then each upserted by name and enabled; rules not named
//  keep what they had. The moderation replicas pick the rows up as they
//  do qyctl's. Audited with the names saved.
void console_api_rules_save (console_req_t *r)
{
    const char *tsv = json_string_value (json_object_get (r->json, "rules"));
    if (!tsv || !*tsv) {
        console_error (r, 400, "send {\"rules\": \"the rule set as TSV (name, kind, category, weight, pattern, dry_run)\"}");
        return;
    }
    const char *bid = console_brand (r);
    if (!bid)
        return;
    char b [24], err [512];
    qy_strlcpy (b, bid, sizeof (b));
    size_t n = 0, nj = 0;
    judge_rule_row_t *rows = judge_rules_parse_tsv (tsv, strlen (tsv), &n, err, sizeof (err));
    if (!rows) {
        console_error (r, 400, "rules: %s", err);
        return;
    }
    judge_rule_row_t *judged = qy_calloc (n + 1, sizeof (judge_rule_row_t));
    for (size_t i = 0; i < n; i++)
        if (strcmp (rows [i].kind, "flood") != 0)
            judged [nj++] = rows [i];
    judge_t *j = nj ? judge_new (judged, nj, NULL, err, sizeof (err)) : NULL;
    free (judged);
    if (nj && !j)
        console_error (r, 400, "rule set rejected: %s", err);
    judge_destroy (&j);
    json_t *names = json_array ();
    for (size_t i = 0; i < n && !r->status; i++) {
        char w [32];
        qy_snprintf (w, sizeof (w), "%g", rows [i].weight);
        const char *p [] = { b, rows [i].name, rows [i].kind, rows [i].category, rows [i].pattern ? rows [i].pattern : "", w,
                             rows [i].dry_run ? "true" : "false" };
        PQclear (console_sql (r, "INSERT INTO rules (brand_id, name, kind, category, pattern, weight, dry_run) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (brand_id, name) DO UPDATE SET "
                              "kind = EXCLUDED.kind, category = EXCLUDED.category, pattern = EXCLUDED.pattern, "
                              "weight = EXCLUDED.weight, dry_run = EXCLUDED.dry_run, enabled = true, updated_at = now ()", 7, p));
        json_array_append_new (names, json_string (rows [i].name));
    }
    judge_rules_free (&rows, n);
    if (!r->status) {
        char *list = json_dumps (names, JSON_COMPACT);
        char *detail = qy_printf ("{\"rules\":%s}", list);
        char *reply = qy_printf ("{\"saved\":%zu,\"rules\":%s}", json_array_size (names), list);
        if (console_audit (r, b, "rules.save", "rules", NULL, detail))
            console_reply (r, 200, reply);
        free (list);
        free (detail);
        free (reply);
    }
    json_decref (names);
}
