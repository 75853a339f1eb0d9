//  Operator alerts. An alert Delivery (kind "alert": a group scoring marks
//  zombie, a spam wave, a surge of complaints) goes to people, not to the
//  chat: to the WeCom group robot of the store that owns the group (its
//  staff), or to HQ's robot when it is brand-wide or the store has none.
//  With no route at all it goes to the brand's gateway in the JSON
//  contract, so it is never dropped. When many alerts wait for the same
//  robot at once they are folded into one digest instead of a flood.
#include "notifier_edge.h"
#include "qy/log.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define S_TEXT_MAX 2048          //  WeCom robot: text content, bytes
#define S_MARKDOWN_MAX 4096      //  WeCom robot: markdown content, bytes

bool notifier_alert_brand_wide (const Qy__Delivery *d)
{
    if (!d->group_id && (!d->group || !*d->group))
        return true;
    const char *r = d->reason ? d->reason : "", *s = d->source ? d->source : "";
    return strstr (r, "spam_wave") || strstr (s, "spam_wave") || strncmp (r, "brand.", 6) == 0;
}

void notifier_alert_text (const Qy__Delivery *d, bool markdown, qy_buf_t *out)
{
    const char *what = d->reason && *d->reason ? d->reason : d->source && *d->source ? d->source : "alert";
    qy_buf_printf (out, markdown ? "**[群运告警] %s**\n" : "[群运告警] %s\n", what);
    if (d->group && *d->group)
        qy_buf_printf (out, markdown ? "> 群: %s\n" : "群: %s\n", d->group);
    if (d->text && *d->text)
        qy_buf_puts (out, d->text);
}

//  Length of s cut to at most max bytes without splitting a UTF-8 character.
static size_t s_cut (const char *s, size_t max)
{
    size_t len = strlen (s);
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char) s [max] & 0xC0) == 0x80)
        max--;
    return max;
}

static void s_list (qy_buf_t *out, const char *name, char *const *v, size_t n)
{
    if (!n)
        return;
    qy_buf_printf (out, ",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        if (i)
            qy_buf_puts (out, ",");
        qy_buf_json_str (out, v [i]);
    }
    qy_buf_puts (out, "]");
}

void notifier_robot_payload (const notifier_route_t *route, const char *text, qy_buf_t *out)
{
    qy_buf_t content;
    qy_buf_init (&content);
    size_t max = route->markdown ? S_MARKDOWN_MAX : S_TEXT_MAX;
    if (route->markdown) {
        //  Markdown cannot carry mentioned_list: WeCom reads <@userid> in the content.
        qy_buf_t tail;
        qy_buf_init (&tail);
        for (size_t i = 0; i < route->n_mentioned; i++)
            qy_buf_printf (&tail, "%s<@%s>", i ? " " : "\n", route->mentioned [i]);
        size_t room = tail.len < max ? max - tail.len : 0;
        qy_buf_append (&content, text, s_cut (text, room));
        qy_buf_append (&content, tail.data, tail.len);
        qy_buf_free (&tail);
        qy_buf_puts (out, "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":");
        qy_buf_json_str (out, content.data);
        qy_buf_puts (out, "}}");
    }
    else {
        qy_buf_append (&content, text, s_cut (text, max));
        qy_buf_puts (out, "{\"msgtype\":\"text\",\"text\":{\"content\":");
        qy_buf_json_str (out, content.data);
        s_list (out, "mentioned_list", route->mentioned, route->n_mentioned);
        s_list (out, "mentioned_mobile_list", route->mobiles, route->n_mobiles);
        qy_buf_puts (out, "}}");
    }
    qy_buf_free (&content);
}

void notifier_digest_payload (const notifier_route_t *route, const char *const *texts, size_t n, qy_buf_t *out)
{
    size_t max = (route->markdown ? S_MARKDOWN_MAX : S_TEXT_MAX) - 200;   //  room for mentions and the tail
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_printf (&b, route->markdown ? "**[群运告警汇总] %zu 条告警**\n" : "[群运告警汇总] %zu 条告警\n", n);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        //  One line per alert: its lines joined, emphasis dropped.
        qy_buf_t line;
        qy_buf_init (&line);
        qy_buf_puts (&line, "- ");
        for (const char *p = texts [i]; *p; p++) {
            if (*p == '\n')
                qy_buf_puts (&line, " · ");
            else if (p [0] == '*' && p [1] == '*')
                p++;
            else if (*p != '>')
                qy_buf_append (&line, p, 1);
        }
        qy_buf_puts (&line, "\n");
        bool fits = b.len + line.len <= max;
        if (fits) {
            qy_buf_append (&b, line.data, line.len);
            shown++;
        }
        qy_buf_free (&line);
        if (!fits)
            break;
    }
    if (shown < n)
        qy_buf_printf (&b, "…另有 %zu 条，详见 qyctl deliveries\n", n - shown);
    notifier_robot_payload (route, b.data, out);
    qy_buf_free (&b);
}

void notifier_route_clear (notifier_route_t *route)
{
    free (route->url);
    for (size_t i = 0; i < route->n_mentioned; i++)
        free (route->mentioned [i]);
    for (size_t i = 0; i < route->n_mobiles; i++)
        free (route->mobiles [i]);
    free (route->mentioned);
    free (route->mobiles);
    memset (route, 0, sizeof (*route));
}

//  A JSON array of strings (array_to_json of a text[]) into a string vector.
static char **s_strings (const char *json, size_t *n)
{
    *n = 0;
    json_t *a = json ? json_loads (json, JSON_DECODE_ANY, NULL) : NULL;
    size_t len = json_array_size (a);
    char **v = len ? qy_calloc (len, sizeof (char *)) : NULL;
    for (size_t i = 0; i < len; i++) {
        const char *s = json_string_value (json_array_get (a, i));
        if (s && *s)
            v [(*n)++] = qy_strdup (s);
    }
    json_decref (a);
    return v;
}

int notifier_routes_lookup (qy_pg_t *pg, Qy__Delivery **ds, size_t n, notifier_route_t *routes)
{
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 3);
    for (size_t i = 0; i < n; i++) {
        memset (&routes [i], 0, sizeof (routes [i]));
        qy_pg_cols_row (&cols);
        qy_pg_cols_int (&cols, 0, ds [i]->brand_id);
        qy_pg_cols_int (&cols, 1, ds [i]->group_id);
        qy_pg_cols_bool (&cols, 2, notifier_alert_brand_wide (ds [i]));
    }
    const char *p [3];
    qy_pg_cols_params (&cols, p);
    PGresult *res;
    //  The store's route for a group's alert, else HQ's (store_id NULL).
    bool ok = qy_pg_run (pg, "alert routes",
        "SELECT x.i, r.webhook_url, r.msgtype, array_to_json (r.mentioned_list)::text, "
        "       array_to_json (r.mentioned_mobile_list)::text "
        "FROM unnest ($1::bigint[], $2::bigint[], $3::bool[]) WITH ORDINALITY AS x (b, g, wide, i) "
        "LEFT JOIN groups gr ON gr.id = x.g AND gr.brand_id = x.b "
        "LEFT JOIN LATERAL (SELECT * FROM alert_routes r WHERE r.brand_id = x.b "
        "                   AND (r.store_id IS NULL OR (NOT x.wide AND r.store_id = gr.store_id)) "
        "                   ORDER BY r.store_id NULLS LAST LIMIT 1) r ON true "
        "ORDER BY x.i", 3, p, &res);
    qy_pg_cols_free (&cols);
    if (!ok)
        return -1;
    for (int r = 0; r < PQntuples (res); r++) {
        size_t i = (size_t) qy_pg_int (res, r, 0) - 1;
        if (i >= n || PQgetisnull (res, r, 1))
            continue;
        routes [i].url = qy_strdup (PQgetvalue (res, r, 1));
        routes [i].markdown = strcmp (PQgetvalue (res, r, 2), "markdown") == 0;
        routes [i].mentioned = s_strings (PQgetvalue (res, r, 3), &routes [i].n_mentioned);
        routes [i].mobiles = s_strings (PQgetvalue (res, r, 4), &routes [i].n_mobiles);
    }
    PQclear (res);
    return 0;
}

//  Fold one (brand, webhook)'s waiting alerts into a digest. Returns how
//  many were folded (0 if fewer than min were still there), or -1.
static int s_digest_one (qy_pg_t *pg, const char *brand_id, const char *url, int min, int max)
{
    char lim [16];
    qy_snprintf (lim, sizeof (lim), "%d", max);
    if (!qy_pg_run (pg, "digest begin", "BEGIN", 0, NULL, NULL))
        return -1;
    const char *p [] = { brand_id, url, lim };
    PGresult *res;
    if (!qy_pg_run (pg, "digest pick",
            "SELECT key, coalesce (payload->'markdown'->>'content', payload->'text'->>'content', ''), "
            "       payload->>'msgtype', coalesce (payload->'text'->'mentioned_list', '[]')::text, "
            "       coalesce (payload->'text'->'mentioned_mobile_list', '[]')::text "
            "FROM deliveries WHERE brand_id = $1 AND dest_url = $2 AND status = 'pending' AND kind = 'alert' "
            "  AND digest_key IS NULL AND next_attempt_at <= now () "
            "ORDER BY created_at, key LIMIT $3 FOR UPDATE SKIP LOCKED", 3, p, &res)) {
        qy_pg_run (pg, "digest rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    int n = PQntuples (res);
    if (n < min) {
        PQclear (res);
        qy_pg_run (pg, "digest rollback", "ROLLBACK", 0, NULL, NULL);
        return 0;
    }
    const char **texts = qy_calloc ((size_t) n, sizeof (char *));
    qy_pg_cols_t keys;
    qy_pg_cols_init (&keys, 1);
    qy_buf_t body;
    qy_buf_init (&body);
    uint64_t h = 1469598103934665603ULL;
    for (int r = 0; r < n; r++) {
        const char *k = PQgetvalue (res, r, 0);
        texts [r] = PQgetvalue (res, r, 1);
        qy_pg_cols_row (&keys);
        qy_pg_cols_text (&keys, 0, k);
        h ^= qy_hash64 (k, strlen (k));
        h *= 1099511628211ULL;
    }
    notifier_route_t route = { 0 };
    route.markdown = strcmp (PQgetvalue (res, 0, 2), "markdown") == 0;
    route.mentioned = s_strings (PQgetvalue (res, 0, 3), &route.n_mentioned);
    route.mobiles = s_strings (PQgetvalue (res, 0, 4), &route.n_mobiles);
    notifier_digest_payload (&route, texts, (size_t) n, &body);
    notifier_route_clear (&route);
    //  The digest's key is derived from the alerts it holds: the same set never makes two.
    char key [80];
    qy_snprintf (key, sizeof (key), "digest:%s:%016llx", brand_id, (unsigned long long) h);
    const char *q [] = { key, brand_id, body.data, url };
    const char *f [] = { key, brand_id, qy_pg_cols_array (&keys, 0) };
    bool ok = qy_pg_run (pg, "digest insert",
            "INSERT INTO deliveries (key, brand_id, kind, priority, payload, source, dest_url, digest_key) "
            "VALUES ($1, $2, 'alert', 2, $3::jsonb, 'notifier:digest', $4, $1) ON CONFLICT (key) DO NOTHING", 4, q, NULL)
        && qy_pg_run (pg, "digest fold",
            "UPDATE deliveries SET status = 'digested', digest_key = $1, lease_until = NULL "
            "WHERE brand_id = $2 AND key = ANY ($3::text[])", 3, f, NULL)
        && qy_pg_run (pg, "digest commit", "COMMIT", 0, NULL, NULL);
    if (!ok)
        qy_pg_run (pg, "digest rollback", "ROLLBACK", 0, NULL, NULL);
    else
        qy_log_info ("alerts folded into a digest digest=%s brand=%s alerts=%d", key, brand_id, n);
    free (texts);
    PQclear (res);
    qy_pg_cols_free (&keys);
    qy_buf_free (&body);
    return ok ? n : -1;
}

int notifier_digest_pass (qy_pg_t *pg, int min_alerts, int max_per_digest)
{
    char m [16];
    qy_snprintf (m, sizeof (m), "%d", min_alerts);
    const char *p [] = { m };
    PGresult *res;
    if (!qy_pg_run (pg, "digest candidates",
            "SELECT brand_id, dest_url FROM deliveries WHERE status = 'pending' AND kind = 'alert' "
            "AND dest_url IS NOT NULL AND digest_key IS NULL AND next_attempt_at <= now () "
            "GROUP BY brand_id, dest_url HAVING count (*) >= $1::int LIMIT 100", 1, p, &res))
        return -1;
    int folded = 0;
    for (int r = 0; r < PQntuples (res) && folded >= 0; r++) {
        int n = s_digest_one (pg, PQgetvalue (res, r, 0), PQgetvalue (res, r, 1), min_alerts, max_per_digest);
        folded = n < 0 ? -1 : folded + n;
    }
    PQclear (res);
    return folded;
}
