//  qyctl moderation: the operators' side of moderation.
//    train | eval                      the judge's offline tools (judge_eval_cli.c)
//    violations BRAND …                list violations
//    confirm | overturn BRAND ID --reason R  decide one; overturn lifts the strike, its mute
//                                      and block; both teach the brand's classifier
//    dict | allow | block BRAND …      per-brand lists (moderation_lists, blocks)
//    policy BRAND …                    policy layers (moderation_policies)
//    precision BRAND [--days N]        per-rule precision from decisions
//    backtest BRAND --days N [--rules TSV]   replay the archive through a proposed rule set
//  Every change is written to audit_log; the service picks it up through
//  NOTIFY qy_config (see docs/moderation.md).
#include "qyctl.h"
#include "judge.h"
#include "moderation.h"
#include "qy/util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_actor (void)
{
    return getenv ("QY_OPERATOR") ? getenv ("QY_OPERATOR") : (getenv ("USER") ? getenv ("USER") : "qyctl");
}

//  An audit row with a JSON detail (qyctl_audit has none).
static void s_audit (const char *bid, const char *action, const char *type, const char *id, const char *detail_json)
{
    const char *p [] = { bid, s_actor (), action, type, id, detail_json ? detail_json : "{}" };
    PQclear (qyctl_exec ("INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
                         "VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, p));
}

static void s_notify (const char *payload)
{
    const char *p [] = { payload };
    PQclear (qyctl_exec ("SELECT pg_notify ('qy_config', $1)", 1, p));
}

static char *s_read_all (FILE *f, size_t *len)
{
    qy_buf_t b;
    qy_buf_init (&b);
    char chunk [65536];
    size_t n;
    while ((n = fread (chunk, 1, sizeof (chunk), f)) > 0)
        qy_buf_append (&b, chunk, n);
    *len = b.len;
    return b.data;
}

//  ------------------------------------------------------------ learning

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

static judge_rule_row_t *s_brand_rows (const char *bid, const char *tsv, moderation_policy_t *pol, size_t *n_out);

//  Teach the brand's model for cat one labelled text and store the result as
//  a new version in moderation_models (the service reloads on its NOTIFY).
//  Serialised per brand and category so two decisions never lose one another.
//  The brand's newest model of category cat, learned from its operators,
//  written to a private temporary file (path; the caller unlinks it), with
//  how many decisions it learned. Leaves path empty when the brand has none.
static void s_brand_model (const char *bid, const char *cat, char *path, size_t len, long long *examples)
{
    const char *p [] = { bid, cat };
    PGresult *res = qyctl_exec ("SELECT model, examples FROM moderation_models WHERE brand_id = $1 AND category = $2 "
                                "ORDER BY id DESC LIMIT 1", 2, p);
    path [0] = 0;
    if (PQntuples (res)) {
        size_t n;
        unsigned char *bytes = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 0), &n);
        if (examples)
            *examples = strtoll (PQgetvalue (res, 0, 1), NULL, 10);
        const char *tmp = getenv ("TMPDIR") && *getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
        qy_snprintf (path, len, "%s/qyctl-model-XXXXXX", tmp);
        int fd = mkstemp (path);
        if (fd < 0 || !bytes || write (fd, bytes, n) != (ssize_t) n)
            qyctl_die ("cannot write %s: %s", path, strerror (errno));
        close (fd);
        PQfreemem (bytes);
    }
    PQclear (res);
}

static void s_learn (const char *bid, const char *cat, const char *text, int label, const char *reason)
{
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    const char *lp [] = { bid, cat };
    PQclear (qyctl_exec ("SELECT pg_advisory_xact_lock (hashtextextended ('qy_model:' || $1 || ':' || $2, 7))", 2, lp));
    char in [256] = "", out [256];
    const char *tmp = getenv ("TMPDIR") && *getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
    long long examples = 0;
    s_brand_model (bid, cat, in, sizeof (in), &examples);
    PGresult *res;
    char shipped [1024];
    judge_model_default_path (cat, shipped, sizeof (shipped));
    const char *path = in [0] ? in : shipped;
    judge_options_t o = { NULL, strcmp (cat, "ad") == 0 ? path : NULL, strcmp (cat, "abuse") == 0 ? path : NULL };
    char err [256];
    //  The model learns from the rules' hits as well as the text (judge_learn),
    //  so it is taught under the brand's own rules, as the service judges.
    size_t nrows = 0, ndef = 0;
    judge_rule_row_t *rows = s_brand_rows (bid, NULL, NULL, &nrows);
    judge_t *j = nrows ? judge_new (rows, nrows, &o, err, sizeof (err)) : NULL;
    if (!j) {
        if (nrows)
            fprintf (stderr, "qyctl: the brand's rules do not load (%s); learning under the default rules\n", err);
        const judge_rule_row_t *def = judge_default_rules (&ndef);
        j = judge_new (def, ndef, &o, err, sizeof (err));
    }
    moderation_rows_free (&rows, nrows);
    if (in [0])
        unlink (in);
    if (!j)
        qyctl_die ("cannot load the %s model: %s", cat, err);
    qy_snprintf (out, sizeof (out), "%s/qyctl-model-XXXXXX", tmp);
    int fd = mkstemp (out);
    if (fd < 0)
        qyctl_die ("cannot create %s: %s", out, strerror (errno));
    close (fd);
    if (judge_learn (j, cat, text, label) || judge_save_model (j, cat, out))
        qyctl_die ("cannot update the %s model", cat);
    judge_destroy (&j);
    FILE *f = fopen (out, "rb");
    if (!f)
        qyctl_die ("cannot read %s", out);
    size_t len;
    char *bytes = s_read_all (f, &len);
    fclose (f);
    unlink (out);
    char ex [24];
    qy_snprintf (ex, sizeof (ex), "%lld", examples + 1);
    const char *ip [] = { bid, cat, bytes, ex, reason, s_actor () };
    int lens [] = { 0, 0, (int) len, 0, 0, 0 };
    int formats [] = { 0, 0, 1, 0, 0, 0 };
    res = PQexecParams (qyctl_pg (), "INSERT INTO moderation_models (brand_id, category, model, examples, reason, created_by) "
                        "VALUES ($1, $2, $3::bytea, $4, $5, $6) RETURNING id", 6, NULL, ip, lens, formats, 0);
    if (PQresultStatus (res) != PGRES_TUPLES_OK)
        qyctl_die ("%s", PQresultErrorMessage (res));
    printf ("model %s version %s (%lld decisions learned)\n", cat, PQgetvalue (res, 0, 0), examples + 1);
    PQclear (res);
    free (bytes);
    //  Keep the ten newest versions (rollback material), drop the rest.
    PQclear (qyctl_exec ("DELETE FROM moderation_models WHERE brand_id = $1 AND category = $2 AND id NOT IN "
                         "(SELECT id FROM moderation_models WHERE brand_id = $1 AND category = $2 ORDER BY id DESC LIMIT 10)", 2, lp));
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
}

//  ------------------------------------------------------------ decisions

//  The members' reports of a violation decided: found true or false (a
//  reporter's false reports weigh their later ones down; nobody is
//  punished for one). A confirmed report of private poaching (私加) counts
//  on the reported member's content ladder: its flag row becomes a content
//  strike (numbered after the member's live strikes of the last 90 days).
//  Returns that strike number, or 0.
static int s_decide_reports (const char *id, const char *bid, bool overturn)
{
    const char *p [] = { id, bid, overturn ? "false" : "confirmed" };
    PQclear (qyctl_exec ("UPDATE moderation_reports SET status = $3 WHERE violation_id = $1::bigint AND brand_id = $2::bigint",
                         3, p));
    if (overturn)
        return 0;
    PGresult *r = qyctl_exec (
        "UPDATE violations v SET kind = 'content', category = CASE v.kind WHEN 'flag' THEN 'ad' ELSE v.category END, "
        "  strike = 1 + (SELECT count (*) FROM violations w WHERE w.brand_id = v.brand_id AND w.member_id = v.member_id "
        "                AND w.strike > 0 AND w.status <> 'overturned' AND w.created_at > now () - interval '90 days') "
        "WHERE v.id = $1::bigint AND v.brand_id = $2::bigint AND v.strike = 0 AND v.member_id IS NOT NULL "
        "  AND EXISTS (SELECT 1 FROM moderation_reports r WHERE r.violation_id = v.id AND r.reason = 'poaching') "
        "RETURNING v.strike", 2, p);
    int strike = PQntuples (r) ? atoi (PQgetvalue (r, 0, 0)) : 0;
    PQclear (r);
    return strike;
}

static int s_decide (int argc, char **argv, bool overturn)
{
    //  The brand is required, as for every other brand's object: an id alone
    //  could decide another brand's violation. "ID --brand CODE" (the older
    //  form) is still taken.
    const char *brand = qyctl_opt (argc, argv, "--brand", NULL);
    int first = brand ? 1 : 2;                  //  where the ID is
    const char *id = qyctl_arg (argc, argv, first);
    if (!brand)
        brand = qyctl_arg (argc, argv, 1);
    const char *reason = qyctl_opt (argc, argv, "--reason", NULL);
    if (!brand || !id || qyctl_arg (argc, argv, first + 1) || !reason || !*reason)
        qyctl_die ("usage: moderation %s BRAND ID --reason TEXT [--learn no]", overturn ? "overturn" : "confirm");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    const char *p [] = { id, bid };
    PGresult *v = qyctl_exec ("SELECT brand_id, coalesce (member_id, 0), status, strike, action, category, msg_id, event_time, "
                              "       coalesce (excerpt, ''), mute_until > now () FROM violations "
                              "WHERE id = $1::bigint AND brand_id = $2 FOR UPDATE", 2, p);
    if (PQntuples (v) == 0)
        qyctl_die ("no violation %s in brand %s", id, brand);
    const char *status = PQgetvalue (v, 0, 2);
    const char *want = overturn ? "overturned" : "confirmed";
    if (strcmp (status, want) == 0)
        qyctl_die ("violation %s is already %s", id, want);
    char *member = qy_strdup (PQgetvalue (v, 0, 1));
    char *category = qy_strdup (PQgetvalue (v, 0, 5));
    char *action = qy_strdup (PQgetvalue (v, 0, 4));
    int strike = atoi (PQgetvalue (v, 0, 3));
    bool muting = PQgetvalue (v, 0, 9) [0] == 't';
    const char *up [] = { id, bid, want, s_actor (), reason };
    PQclear (qyctl_exec ("UPDATE violations SET status = $3, decided_by = $4, decided_at = now (), decision_reason = $5 "
                         "WHERE id = $1 AND brand_id = $2", 5, up));
    bool lifted_block = false, lifted_mute = false;
    int charged = s_decide_reports (id, bid, overturn);
    if (overturn) {
        //  The strike is lifted by the status (strikes count only what is not
        //  overturned); the block it caused is lifted here, the mute by the
        //  service when it resyncs the member from PostgreSQL.
        const char *bp [] = { bid, member, id };
        PGresult *b = qyctl_exec ("UPDATE blocks SET lifted_at = now () WHERE brand_id = $1 AND member_id = $2 "
                                  "AND violation_id = $3 AND lifted_at IS NULL RETURNING 1", 3, bp);
        lifted_block = PQntuples (b) > 0;
        PQclear (b);
        if (muting) {
            const char *mp [] = { bid, member };
            PGresult *m = qyctl_exec ("SELECT 1 FROM violations WHERE brand_id = $1 AND member_id = $2 AND mute_until > now () "
                                      "AND status <> 'overturned'", 2, mp);
            lifted_mute = PQntuples (m) == 0;
            PQclear (m);
        }
        char note [96];
        qy_snprintf (note, sizeof (note), "moderation_member:%s:%s", bid, member);
        s_notify (note);
    }
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{\"reason\":");
    qy_buf_json_str (&d, reason);
    qy_buf_printf (&d, ",\"previous\":\"%s\",\"action\":\"%s\",\"strike\":%d,\"lifted_mute\":%s,\"lifted_block\":%s}",
                   status, action, strike, lifted_mute ? "true" : "false", lifted_block ? "true" : "false");
    s_audit (bid, overturn ? "violation.overturn" : "violation.confirm", "violation", id, d.data);
    qy_buf_free (&d);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("violation %s %s%s%s%s", id, want, overturn && strike ? " (strike lifted)" : "",
            lifted_mute ? " (mute lifted)" : "", lifted_block ? " (block lifted)" : "");
    if (charged)
        printf (" (reported private poaching: strike %d)", charged);
    printf ("\n");
    //  Teach the classifier with the message as it was sent (the archive),
    //  or the excerpt kept with the violation.
    const char *cat = s_model_of (category);
    if (cat && strcmp (qyctl_opt (argc, argv, "--learn", "yes"), "no") != 0) {
        const char *mp [] = { bid, PQgetvalue (v, 0, 6), PQgetvalue (v, 0, 7) };
        PGresult *m = qyctl_exec ("SELECT text FROM messages WHERE brand_id = $1 AND msg_id = $2 AND event_time = $3::timestamptz",
                                  3, mp);
        const char *text = PQntuples (m) && *PQgetvalue (m, 0, 0) ? PQgetvalue (m, 0, 0) : PQgetvalue (v, 0, 8);
        char why [96];
        qy_snprintf (why, sizeof (why), "%s violation %s", overturn ? "overturn" : "confirm", id);
        if (*text)
            s_learn (bid, cat, text, overturn ? 0 : 1, why);
        PQclear (m);
    }
    PQclear (v);
    free (member);
    free (category);
    free (action);
    return 0;
}

static int s_violations (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 1);
    if (!brand)
        qyctl_die ("usage: moderation violations BRAND [--status open|confirmed|overturned|enforced] [--member USER] "
                   "[--days N] [--limit N] [--format F]");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *status = qyctl_opt (argc, argv, "--status", NULL);
    const char *days = qyctl_opt (argc, argv, "--days", "30"), *limit = qyctl_opt (argc, argv, "--limit", "50");
    if (status && strcmp (status, "open") && strcmp (status, "confirmed") && strcmp (status, "overturned")
        && strcmp (status, "enforced"))
        qyctl_die ("--status must be open, confirmed, overturned or enforced, not '%s'", status);
    char *end;
    long d = strtol (days, &end, 10);
    if (*end || d < 1 || d > 36500)
        qyctl_die ("--days must be a whole number of days >= 1, not '%s'", days);
    long l = strtol (limit, &end, 10);
    if (*end || l < 1 || l > 1000000)
        qyctl_die ("--limit must be a whole number >= 1, not '%s'", limit);
    const char *p [] = { bid, status, qyctl_opt (argc, argv, "--member", NULL), days, limit };
    PGresult *res = qyctl_exec (
        "SELECT v.id, to_char (v.event_time, 'MM-DD HH24:MI:SS') AS at, g.code AS grp, m.user_id AS member, v.category, "
        "       v.action, coalesce (v.would_action, '') AS would, v.strike, v.status, array_to_string (v.rules, ',') AS rules, "
        "       left (coalesce (v.excerpt, ''), 40) AS excerpt "
        "FROM violations v LEFT JOIN groups g ON g.id = v.group_id AND g.brand_id = v.brand_id "
        "LEFT JOIN members m ON m.id = v.member_id AND m.brand_id = v.brand_id "
        "WHERE v.brand_id = $1 AND ($2::text IS NULL OR v.status = $2) AND ($3::text IS NULL OR m.user_id = $3) "
        "  AND v.created_at > now () - $4::int * interval '1 day' "
        "ORDER BY v.id DESC LIMIT $5::int", 5, p);
    qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
    PQclear (res);
    return 0;
}

//  ------------------------------------------------------------ lists

static int s_list_cmd (int argc, char **argv, const char *what)
{
    const char *brand = qyctl_arg (argc, argv, 1), *sub = qyctl_arg (argc, argv, 2);
    bool dict = strcmp (what, "dict") == 0;
    if (!brand || !sub || (strcmp (sub, "list") && !qyctl_arg (argc, argv, 4)))
        qyctl_die (dict ? "usage: moderation dict BRAND add|remove CATEGORY|exempt WORD… | dict BRAND list"
                        : "usage: moderation allow BRAND add|remove domain|phone VALUE… | allow BRAND list");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid, dict ? "t" : "f" };
        PGresult *res = qyctl_exec ("SELECT list, category, value, coalesce (created_by, '') AS by, "
                                    "to_char (created_at, 'YYYY-MM-DD HH24:MI') AS at FROM moderation_lists "
                                    "WHERE brand_id = $1 AND (list IN ('keyword', 'exempt')) = $2::boolean ORDER BY 1, 2, 3", 2, p);
        qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
        PQclear (res);
        return 0;
    }
    bool add = strcmp (sub, "add") == 0;
    if (!add && strcmp (sub, "remove"))
        qyctl_die ("%s: expected add, remove or list, got '%s'", what, sub);
    const char *kind = qyctl_arg (argc, argv, 3);
    const char *list, *category = "";
    if (dict && strcmp (kind, "exempt") == 0)
        list = "exempt";
    else
    if (dict) {
        qy_category_t c = judge_category_parse (kind);
        if (c == QY_CAT__COUNT || c == QY_CAT_FLOOD || c == QY_CAT_SPAM_WAVE || c == QY_CAT_FORMAT)
            qyctl_die ("dict: category must be ad, fraud, gambling, porn, abuse or exempt, got '%s'", kind);
        list = "keyword";
        category = kind;
    }
    else
    if (strcmp (kind, "domain") == 0 || strcmp (kind, "phone") == 0)
        list = strcmp (kind, "domain") == 0 ? "allow_domain" : "allow_phone";
    else
        qyctl_die ("allow: expected domain or phone, got '%s'", kind);
    int changed = 0;
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    for (int i = 4; qyctl_arg (argc, argv, i); i++) {
        const char *value = qyctl_arg (argc, argv, i);
        if (!*value || strchr (value, '\n'))
            qyctl_die ("%s: empty or multi-line value", what);
        const char *p [] = { bid, list, category, value, s_actor () };
        PGresult *res = add
            ? qyctl_exec ("INSERT INTO moderation_lists (brand_id, list, category, value, created_by) VALUES ($1, $2, $3, $4, $5) "
                          "ON CONFLICT DO NOTHING RETURNING 1", 5, p)
            : qyctl_exec ("DELETE FROM moderation_lists WHERE brand_id = $1 AND list = $2 AND category = $3 AND value = $4 "
                          "RETURNING 1", 4, p);
        if (PQntuples (res)) {
            changed++;
            qy_buf_t d;
            qy_buf_init (&d);
            qy_buf_printf (&d, "{\"list\":\"%s\",\"category\":\"%s\",\"value\":", list, category);
            qy_buf_json_str (&d, value);
            qy_buf_puts (&d, "}");
            char action [48];
            qy_snprintf (action, sizeof (action), "%s.%s", what, add ? "add" : "remove");
            s_audit (bid, action, "moderation_list", value, d.data);
            qy_buf_free (&d);
        }
        PQclear (res);
    }
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("%s: %d %s\n", list, changed, add ? "added" : "removed");
    return 0;
}

static int s_block (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 1), *sub = qyctl_arg (argc, argv, 2), *user = qyctl_arg (argc, argv, 3);
    if (!brand || !sub || (strcmp (sub, "list") && !user))
        qyctl_die ("usage: moderation block BRAND add|remove USER [--reason R] | block BRAND list");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid };
        PGresult *res = qyctl_exec ("SELECT m.user_id AS member, coalesce (m.nickname, '') AS nickname, b.reason, "
                                    "coalesce (b.violation_id::text, '') AS violation, to_char (b.created_at, 'YYYY-MM-DD HH24:MI') AS since "
                                    "FROM blocks b JOIN members m ON m.id = b.member_id AND m.brand_id = b.brand_id "
                                    "WHERE b.brand_id = $1 AND b.lifted_at IS NULL ORDER BY b.created_at", 1, p);
        qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
        PQclear (res);
        return 0;
    }
    bool add = strcmp (sub, "add") == 0;
    if (!add && strcmp (sub, "remove"))
        qyctl_die ("block: expected add, remove or list, got '%s'", sub);
    const char *reason = qyctl_opt (argc, argv, "--reason", add ? "operator" : "lifted by operator");
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    //  A member may be blocked before ever being seen (a known spammer's id).
    const char *mp [] = { bid, user };
    PGresult *res = qyctl_exec ("INSERT INTO members (brand_id, user_id) VALUES ($1, $2) "
                                "ON CONFLICT (brand_id, user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING id", 2, mp);
    char *mid = qy_strdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    const char *p [] = { bid, mid, reason };
    res = add ? qyctl_exec ("INSERT INTO blocks (brand_id, member_id, reason) VALUES ($1, $2, $3) "
                            "ON CONFLICT (brand_id, member_id) DO UPDATE SET lifted_at = NULL, reason = EXCLUDED.reason, "
                            "created_at = now (), violation_id = NULL RETURNING 1", 3, p)
              : qyctl_exec ("UPDATE blocks SET lifted_at = now () WHERE brand_id = $1 AND member_id = $2 AND lifted_at IS NULL "
                            "RETURNING 1", 2, p);
    int n = PQntuples (res);
    PQclear (res);
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{\"reason\":");
    qy_buf_json_str (&d, reason);
    qy_buf_puts (&d, "}");
    s_audit (bid, add ? "block.add" : "block.remove", "member", user, d.data);
    qy_buf_free (&d);
    char note [96];
    qy_snprintf (note, sizeof (note), "moderation_member:%s:%s", bid, mid);
    s_notify (note);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("%s %s%s\n", user, add ? "blocked in every group of " : "unblocked in ", brand);
    if (!add && !n)
        printf ("(was not blocked)\n");
    free (mid);
    return 0;
}

//  Refuse a layer the service would ignore, before it reaches it: apply it
//  where the service does — on the brand's settings and brand layer, and
//  for each group it reaches on the layers beneath it — and check that the
//  layers above it in those groups still apply. Names where it fails.
static void s_policy_check (const char *bid, const char *scope, const char *key, const char *json)
{
    static const char *names [] = { "brand", "region", "store", "group_type", "group" };
    int rank = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp (scope, names [i]) == 0)
            rank = i;
    char err [256];
    if (rank < 0 || (json && moderation_policy_check_json (json, err, sizeof (err))))
        qyctl_die ("policy rejected: %s", rank < 0 ? "unknown scope" : err);
    moderation_policy_t base;
    const char *p [] = { bid, scope, key };
    //  The stack as the service runs it now holds this layer's current
    //  version (if any): what applies now must still apply afterwards.
    PGresult *cr = qyctl_exec ("SELECT settings::text FROM moderation_policies WHERE brand_id = $1 AND scope = $2 "
                               "AND scope_key = $3", 3, p);
    char *cur = PQntuples (cr) ? qy_strdup (PQgetvalue (cr, 0, 0)) : NULL;
    PQclear (cr);
    const char *verb = json ? "policy rejected" : "policy unset refused";
    PGresult *br = qyctl_exec ("SELECT coalesce (settings::text, '') FROM brands WHERE id = $1", 1, p);
    moderation_policy_default (&base);
    moderation_policy_apply_settings (&base, PQntuples (br) ? PQgetvalue (br, 0, 0) : "", err, sizeof (err));
    PQclear (br);
    PGresult *lr = qyctl_exec ("SELECT scope, scope_key, settings::text FROM moderation_policies "
                               "WHERE brand_id = $1 AND NOT (scope = $2 AND scope_key = $3)", 3, p);
    int nl = PQntuples (lr);
    for (int l = 0; l < nl; l++)        //  a bad one is ignored, as the service does
        if (strcmp (PQgetvalue (lr, l, 0), "brand") == 0)
            moderation_policy_apply_json (&base, PQgetvalue (lr, l, 2), err, sizeof (err));
    moderation_policy_t base_old = base;
    if (rank == 0 && cur)
        moderation_policy_apply_json (&base_old, cur, err, sizeof (err));
    if (rank == 0 && json && moderation_policy_apply_json (&base, json, err, sizeof (err)))
        qyctl_die ("policy rejected: on the brand's settings: %s", err);
    PGresult *gr = qyctl_exec ("SELECT coalesce (r.code, ''), coalesce (s.code, ''), g.type, g.code FROM groups g "
                               "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = g.brand_id "
                               "LEFT JOIN regions r ON r.id = s.region_id AND r.brand_id = g.brand_id "
                               "WHERE g.brand_id = $1 ORDER BY g.code", 1, p);
    for (int g = 0; g < PQntuples (gr); g++) {
        moderation_policy_t pol = base, old = base_old;      //  with the new layer, and as it is now
        bool reached = rank == 0;
        for (int r = 1; r <= 4; r++) {
            const char *value = PQgetvalue (gr, g, r - 1);
            for (int l = 0; l < nl; l++) {
                if (strcmp (PQgetvalue (lr, l, 0), names [r]) || strcmp (PQgetvalue (lr, l, 1), value))
                    continue;
                //  A layer above the new one that applied without it must still apply.
                bool was_ok = moderation_policy_apply_json (&old, PQgetvalue (lr, l, 2), err, sizeof (err)) == 0;
                if (moderation_policy_apply_json (&pol, PQgetvalue (lr, l, 2), err, sizeof (err)) && reached && was_ok)
                    qyctl_die ("%s: group %s's %s layer %s would no longer apply: %s",
                               verb, PQgetvalue (gr, g, 3), names [r], value, err);
            }
            if (r == rank && strcmp (value, key) == 0) {
                reached = true;
                if (cur)
                    moderation_policy_apply_json (&old, cur, err, sizeof (err));
                if (json && moderation_policy_apply_json (&pol, json, err, sizeof (err)))
                    qyctl_die ("policy rejected: for group %s (on the layers beneath): %s", PQgetvalue (gr, g, 3), err);
            }
        }
    }
    PQclear (gr);
    PQclear (lr);
    free (cur);
}

static int s_policy (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 1), *sub = qyctl_arg (argc, argv, 2);
    if (!brand || !sub)
        qyctl_die ("usage: moderation policy BRAND list | set SCOPE KEY JSON | unset SCOPE KEY   "
                   "(SCOPE brand|region|store|group_type|group; KEY - for brand)");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid };
        PGresult *res = qyctl_exec ("SELECT scope, scope_key AS key, settings::text, coalesce (updated_by, '') AS by "
                                    "FROM moderation_policies WHERE brand_id = $1 "
                                    "ORDER BY array_position (ARRAY['brand','region','store','group_type','group'], scope), scope_key", 1, p);
        qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
        PQclear (res);
        return 0;
    }
    const char *scope = qyctl_arg (argc, argv, 3), *key = qyctl_arg (argc, argv, 4);
    if (!scope || !key)
        qyctl_die ("policy %s: SCOPE and KEY needed", sub);
    if (strcmp (key, "-") == 0)
        key = "";
    bool set = strcmp (sub, "set") == 0;
    const char *json = set ? qyctl_arg (argc, argv, 5) : NULL;
    if (set && !json)
        qyctl_die ("policy rejected: no JSON given");
    s_policy_check (bid, scope, key, set ? json : NULL);
    const char *p [] = { bid, scope, key, json, s_actor () };
    PGresult *res = set
        ? qyctl_exec ("INSERT INTO moderation_policies (brand_id, scope, scope_key, settings, updated_by) "
                      "VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (brand_id, scope, scope_key) "
                      "DO UPDATE SET settings = EXCLUDED.settings, updated_by = EXCLUDED.updated_by, updated_at = now () RETURNING 1", 5, p)
        : qyctl_exec ("DELETE FROM moderation_policies WHERE brand_id = $1 AND scope = $2 AND scope_key = $3 RETURNING 1", 3, p);
    int n = PQntuples (res);
    PQclear (res);
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_printf (&d, "{\"scope\":\"%s\",\"key\":", scope);
    qy_buf_json_str (&d, key);
    qy_buf_printf (&d, ",\"settings\":%s}", json ? json : "null");
    s_audit (bid, set ? "policy.set" : "policy.unset", "moderation_policy", scope, d.data);
    qy_buf_free (&d);
    printf ("policy %s %s: %s\n", scope, *key ? key : "-", set ? "set" : n ? "removed" : "was not set");
    return 0;
}

static int s_precision (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 1);
    if (!brand)
        qyctl_die ("usage: moderation precision BRAND [--days N] [--format F]");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt (argc, argv, "--days", "90") };
    PGresult *res = qyctl_exec (
        //  dry_run: hits where the rule itself ran dry (in a live violation too).
        "SELECT r AS rule, count (*) AS hits, "
        "       count (*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements (v.hits) h "
        "                                       WHERE h->>'rule' = r AND h->>'dry_run' = 'true')) AS dry_run, "
        "       count (*) FILTER (WHERE v.status = 'confirmed') AS confirmed, "
        "       count (*) FILTER (WHERE v.status = 'overturned') AS overturned, "
        "       count (*) FILTER (WHERE v.status = 'open') AS open, "
        "       coalesce (round (count (*) FILTER (WHERE v.status = 'confirmed')::numeric "
        "             / nullif (count (*) FILTER (WHERE v.status IN ('confirmed', 'overturned')), 0), 3)::text, '-') AS precision "
        "FROM violations v, unnest (v.rules) r "
        "WHERE v.brand_id = $1 AND v.created_at > now () - $2::int * interval '1 day' "
        "GROUP BY r ORDER BY r", 2, p);
    qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
    PQclear (res);
    return 0;
}

//  ------------------------------------------------------------ backtest

//  A brand's rule rows as the service builds them (rules + lists), or a TSV's.
static judge_rule_row_t *s_brand_rows (const char *bid, const char *tsv, moderation_policy_t *pol, size_t *n_out)
{
    const char *p [] = { bid };
    judge_rule_row_t *rows;
    size_t n = 0;
    judge_rule_row_t *owned = NULL;
    PGresult *rr = NULL;
    char err [256];
    if (tsv) {
        owned = judge_rules_load_tsv (tsv, &n, err, sizeof (err));
        if (!owned)
            qyctl_die ("rules %s: %s", tsv, err);
        rows = qy_calloc (n + 1, sizeof (*rows));
        memcpy (rows, owned, n * sizeof (*rows));
    }
    else {
        rr = qyctl_exec ("SELECT name, kind, category, pattern, weight, dry_run FROM rules WHERE brand_id = $1 AND enabled ORDER BY name", 1, p);
        n = (size_t) PQntuples (rr);
        rows = qy_calloc (n + 1, sizeof (*rows));
        for (size_t i = 0; i < n; i++)
            rows [i] = (judge_rule_row_t) { PQgetvalue (rr, (int) i, 0), PQgetvalue (rr, (int) i, 1), PQgetvalue (rr, (int) i, 2),
                                            PQgetvalue (rr, (int) i, 3), strtod (PQgetvalue (rr, (int) i, 4), NULL),
                                            PQgetvalue (rr, (int) i, 5) [0] == 't' };
    }
    //  Flood rules are behaviour, counted live in Redis: not replayable offline.
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp (rows [i].kind, "flood"))
            rows [k++] = rows [i];
        else
        if (pol)
            moderation_policy_flood_rule (pol, &rows [i], err, sizeof (err));
    PGresult *lr = qyctl_exec ("SELECT list, category, value FROM moderation_lists WHERE brand_id = $1", 1, p);
    size_t nl = (size_t) PQntuples (lr);
    moderation_list_row_t *lists = qy_calloc (nl + 1, sizeof (*lists));
    for (size_t i = 0; i < nl; i++)
        lists [i] = (moderation_list_row_t) { PQgetvalue (lr, (int) i, 0), PQgetvalue (lr, (int) i, 1), PQgetvalue (lr, (int) i, 2) };
    judge_rule_row_t *merged = moderation_rows_merge (rows, k, lists, nl, n_out);
    free (lists);
    PQclear (lr);
    free (rows);
    if (rr)
        PQclear (rr);
    if (owned)
        judge_rules_free (&owned, n);
    return merged;
}

//  A judge as the service builds it for the brand: the rule set, and the
//  brand's learned models where it has them, else the shipped ones.
static judge_t *s_backtest_judge (const char *bid, judge_rule_row_t *rows, size_t n, const char *what)
{
    char ad [1024], abuse [1024], err [256];
    s_brand_model (bid, "ad", ad, sizeof (ad), NULL);
    s_brand_model (bid, "abuse", abuse, sizeof (abuse), NULL);
    bool own_ad = ad [0], own_abuse = abuse [0];
    if (!own_ad)
        judge_model_default_path ("ad", ad, sizeof (ad));
    if (!own_abuse)
        judge_model_default_path ("abuse", abuse, sizeof (abuse));
    judge_options_t o = { NULL, access (ad, R_OK) == 0 ? ad : NULL, access (abuse, R_OK) == 0 ? abuse : NULL };
    judge_t *j = judge_new (rows, n, &o, err, sizeof (err));
    if (own_ad)
        unlink (ad);
    if (own_abuse)
        unlink (abuse);
    if (!j)
        qyctl_die ("%s rule set rejected: %s", what, err);
    return j;
}

//  Judge one archived message with one judge; hits kept in *r.
static judge_action_t s_backtest_one (judge_t *j, const moderation_policy_t *pol, const char *text, const char *kind,
                                      const char *role, bool at_all, judge_result_t *r)
{
    judge_input_t in = { text, (size_t) -1, kind, role, pol->exempt_staff, at_all };
    bool staff = strcmp (role, "member") != 0;
    memset (r, 0, sizeof (*r));
    r->top = QY_CAT__COUNT;
    if (!(staff && pol->exempt_staff) && judge_eval (j, &in, r) != 0)
        return JUDGE_ALLOW;
    moderation_score (pol, r);
    return judge_decide (&pol->thresholds, r->total);
}

typedef struct {
    char *rule;
    long  now, proposed;
} s_rule_count_t;

static void s_count (s_rule_count_t **counts, size_t *n, const judge_result_t *r, bool proposed)
{
    for (size_t h = 0; h < r->nhits; h++) {
        size_t i = 0;
        while (i < *n && strcmp ((*counts) [i].rule, r->hits [h].rule))
            i++;
        if (i == *n) {
            *counts = qy_realloc (*counts, sizeof (s_rule_count_t) * (*n + 1));
            (*counts) [i] = (s_rule_count_t) { qy_strdup (r->hits [h].rule), 0, 0 };
            (*n)++;
        }
        if (proposed)
            (*counts) [i].proposed++;
        else
            (*counts) [i].now++;
    }
}

static int s_cmp_rule (const void *a, const void *b)
{
    return strcmp (((const s_rule_count_t *) a)->rule, ((const s_rule_count_t *) b)->rule);
}

static int s_backtest (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 1);
    const char *days = qyctl_opt (argc, argv, "--days", NULL);
    if (!brand || !days || atoi (days) < 1)
        qyctl_die ("usage: moderation backtest BRAND --days N [--rules TSV] [--examples N]");
    int examples = atoi (qyctl_opt (argc, argv, "--examples", "10"));
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    //  The brand-level policy: defaults, brands.settings, the brand layer.
    moderation_policy_t pol;
    moderation_policy_default (&pol);
    char err [256];
    const char *bp [] = { bid };
    PGresult *res = qyctl_exec ("SELECT b.settings::text, coalesce (p.settings::text, '{}') FROM brands b "
                                "LEFT JOIN moderation_policies p ON p.brand_id = b.id AND p.scope = 'brand' WHERE b.id = $1", 1, bp);
    //  What does not apply is ignored, as the service does, and said.
    if (moderation_policy_apply_settings (&pol, PQgetvalue (res, 0, 0), err, sizeof (err)))
        fprintf (stderr, "qyctl: the brand's settings are ignored, as by the service: %s\n", err);
    if (moderation_policy_apply_json (&pol, PQgetvalue (res, 0, 1), err, sizeof (err)))
        fprintf (stderr, "qyctl: the brand's policy layer is ignored, as by the service: %s\n", err);
    PQclear (res);
    size_t na, nb;
    judge_rule_row_t *now_rows = s_brand_rows (bid, NULL, &pol, &na);
    const char *tsv = qyctl_opt (argc, argv, "--rules", NULL);
    judge_rule_row_t *new_rows = s_brand_rows (bid, tsv, NULL, &nb);
    judge_t *ja = s_backtest_judge (bid, now_rows, na, "current");
    judge_t *jb = s_backtest_judge (bid, new_rows, nb, "proposed");
    //  The archive, a page at a time: chat messages of the last N days.
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    const char *cp [] = { bid, days };
    PQclear (qyctl_exec ("DECLARE qy_bt NO SCROLL CURSOR FOR SELECT msg_id, kind, coalesce (role, 'member'), coalesce (text, ''), "
                         "       coalesce (extra->'at_all' = 'true'::jsonb, false) FROM messages "
                         "WHERE brand_id = $1 AND event_time > now () - $2::int * interval '1 day' "
                         "  AND kind IN ('text','image','link','weapp','card','redpacket','file','voice','video','emotion','qrcode') "
                         "ORDER BY event_time, msg_id", 2, cp));
    long total = 0, changed = 0, matrix [5][5] = { { 0 } };
    s_rule_count_t *counts = NULL;
    size_t ncounts = 0;
    int shown = 0;
    judge_result_t ra, rb;
    while (true) {
        res = qyctl_exec ("FETCH 5000 FROM qy_bt", 0, NULL);
        int rows = PQntuples (res);
        for (int r = 0; r < rows; r++) {
            const char *text = PQgetvalue (res, r, 3), *kind = PQgetvalue (res, r, 1), *role = PQgetvalue (res, r, 2);
            bool at_all = PQgetvalue (res, r, 4) [0] == 't';
            judge_action_t a = s_backtest_one (ja, &pol, text, kind, role, at_all, &ra);
            s_count (&counts, &ncounts, &ra, false);
            judge_action_t b = s_backtest_one (jb, &pol, text, kind, role, at_all, &rb);
            s_count (&counts, &ncounts, &rb, true);
            matrix [a][b]++;
            total++;
            if (a != b) {
                changed++;
                if (shown++ < examples) {
                    char *cut = qy_utf8_prefix (text, 60);
                    printf ("changed %s: %s -> %s  %s\n", PQgetvalue (res, r, 0), judge_action_name (a), judge_action_name (b), cut);
                    free (cut);
                }
            }
        }
        PQclear (res);
        if (rows == 0)
            break;
    }
    PQclear (qyctl_exec ("CLOSE qy_bt", 0, NULL));
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    qsort (counts, ncounts, sizeof (*counts), s_cmp_rule);
    printf ("\n%-28s %10s %10s %8s\n", "rule", "hits_now", "proposed", "delta");
    for (size_t i = 0; i < ncounts; i++) {
        printf ("%-28s %10ld %10ld %+8ld\n", counts [i].rule, counts [i].now, counts [i].proposed,
                counts [i].proposed - counts [i].now);
        free (counts [i].rule);
    }
    free (counts);
    printf ("\nverdict changes (now -> proposed):\n");
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            if (a != b && matrix [a][b])
                printf ("  %s -> %s: %ld\n", judge_action_name ((judge_action_t) a), judge_action_name ((judge_action_t) b), matrix [a][b]);
    printf ("messages=%ld changed=%ld days=%s rules=%s\n", total, changed, days, tsv ? tsv : "current");
    judge_destroy (&ja);
    judge_destroy (&jb);
    moderation_rows_free (&now_rows, na);
    moderation_rows_free (&new_rows, nb);
    return 0;
}

int qyctl_moderation (int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv [1] : "";
    if (strcmp (sub, "train") == 0)
        return judge_cli_train (argc - 1, argv + 1);
    if (strcmp (sub, "eval") == 0)
        return judge_cli_eval (argc - 1, argv + 1);
    if (strcmp (sub, "violations") == 0)
        return s_violations (argc, argv);
    if (strcmp (sub, "list") == 0)
        return qyctl_moderation_list (argc - 1, argv + 1);
    if (strcmp (sub, "replies") == 0)
        return qyctl_moderation_replies (argc - 1, argv + 1);
    if (strcmp (sub, "confirm") == 0 || strcmp (sub, "overturn") == 0)
        return s_decide (argc, argv, strcmp (sub, "overturn") == 0);
    if (strcmp (sub, "dict") == 0 || strcmp (sub, "allow") == 0)
        return s_list_cmd (argc, argv, sub);
    if (strcmp (sub, "block") == 0)
        return s_block (argc, argv);
    if (strcmp (sub, "policy") == 0)
        return s_policy (argc, argv);
    if (strcmp (sub, "precision") == 0)
        return s_precision (argc, argv);
    if (strcmp (sub, "backtest") == 0)
        return s_backtest (argc, argv);
    fprintf (stderr,
        "usage: qyctl moderation COMMAND …\n"
        "  train|eval --category ad|abuse [--model PATH] FILE…      offline classifier tools\n"
        "  violations BRAND [--status S] [--member USER] [--days N] [--limit N]\n"
        "  list BRAND [--limit N] [--format F]                   the review queue, highest risk first\n"
        "  replies BRAND [--days N] [--format F]                 staff reply times and unanswered questions\n"
        "  confirm|overturn BRAND ID --reason TEXT [--learn no]\n"
        "  dict BRAND add|remove CATEGORY|exempt WORD… | dict BRAND list\n"
        "  allow BRAND add|remove domain|phone VALUE… | allow BRAND list\n"
        "  block BRAND add|remove USER [--reason R] | block BRAND list\n"
        "  policy BRAND set SCOPE KEY JSON | unset SCOPE KEY | list\n"
        "  precision BRAND [--days N]\n"
        "  backtest BRAND --days N [--rules TSV] [--examples N]\n");
    return 2;
}
