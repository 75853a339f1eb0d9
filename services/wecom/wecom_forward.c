//  Kept callbacks → ingest, from the main loop. Rows are claimed with
//  FOR UPDATE SKIP LOCKED, so replicas share the work and none is handled
//  twice at once; ingest's ids make a second handling a duplicate anyway.
//  A chat change first reads the group (groupchat/get): its answer fills
//  in what the callback lacks (who joined, by which channel, under which
//  name) and is reconciled through ingest's snapshot door. A contact
//  change (change_external_contact) goes to ingest as it is.
#include "wecom.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static qy_metric_t *m_done, *m_retry, *m_rejected, *m_kept;


static size_t s_keep (char *ptr, size_t size, size_t n, void *arg)
{
    qy_buf_t *b = arg;
    if (b)
        qy_buf_append (b, ptr, size * n);
    return size * n;
}

long wecom_ingest_post (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *path, json_t *body, json_t **answer)
{
    char *payload = json_dumps (body, JSON_COMPACT);
    long status = wecom_ingest_post_text (ctx, b, path, payload, strlen (payload), answer);
    free (payload);
    return status;
}

long wecom_ingest_post_text (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *path, const char *payload, size_t len,
                             json_t **answer)
{
    char *url = qy_printf ("%s%s", ctx->env->ingest_url, path), *auth = qy_printf ("Authorization: Bearer %s", b->ingest_token);
    struct curl_slist *h = curl_slist_append (curl_slist_append (NULL, "Content-Type: application/json"), auth);
    CURL *easy = curl_easy_init ();
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, ctx->env->api_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    qy_buf_t got;
    qy_buf_init (&got);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, answer ? &got : NULL);
    long status = 0;
    if (curl_easy_perform (easy) == CURLE_OK)
        curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    if (answer)
        *answer = got.len ? json_loadb (got.data, got.len, 0, NULL) : NULL;
    qy_buf_free (&got);
    curl_easy_cleanup (easy);
    curl_slist_free_all (h);
    memset (auth, 0, strlen (auth));      //  it holds the credential
    free (auth);
    free (url);
    return status;
}

//  One claimed row and what became of it.
typedef struct {
    const char *id, *xml;
    int64_t     brand_id;
    long        attempts;
    const char *status;        //  done, rejected, kept; NULL: again later
    char       *error;
    char       *chat;          //  its group, for the snapshot's outcome
    long        item;          //  its index in the events request, -1 if none
} s_row_t;

//  The group's groupchat/get answer, fetched once per batch (groups caches
//  it; JSON null when WeCom had none). NULL when WeCom is busy or away.
static json_t *s_group (wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *groups, const char *chat)
{
    json_t *g = json_object_get (groups, chat);
    if (g)
        return g;
    json_t *q = json_pack ("{s:s, s:i}", "chat_id", chat, "need_name", 1), *a = NULL;
    wecom_api_rc_t rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b),
                                        "/cgi-bin/externalcontact/groupchat/get", q, &a);
    json_decref (q);
    if (rc == WECOM_API_BUSY || rc == WECOM_API_DOWN) {
        json_decref (a);
        return NULL;
    }
    if (rc == WECOM_API_ERRCODE) {
        qy_log_warn ("groupchat/get refused, forwarded without the snapshot brand=%s chat=%s errcode=%lld", b->code, chat,
                     (long long) json_integer_value (json_object_get (a, "errcode")));
        json_decref (a);
        a = json_null ();
    }
    json_object_set_new (groups, chat, a);
    return a;
}

//  Map one row into events (appending to items), or settle it.
static void s_prepare (wecom_ctx_t *ctx, const wecom_brand_t *b, s_row_t *r, json_t *groups, json_t *items)
{
    char err [128];
    json_t *cb = wecom_xml_event (r->xml, strlen (r->xml), err, sizeof (err));
    if (!cb) {
        r->status = "rejected";
        r->error = qy_strdup (err);
        return;
    }
    if (wecom_is_contact_event (cb)) {
        //  A 1:1 contact concerns no group: no read, ingest takes WeCom's fields as they are.
        r->item = (long) json_array_size (items);
        json_array_append_new (items, cb);
        return;
    }
    if (!wecom_is_chat_event (cb)) {
        r->status = "kept";        //  tag changes and the like: no ingest door (docs/wecom.md)
        json_decref (cb);
        return;
    }
    const char *chat = json_string_value (json_object_get (cb, "ChatId"));
    const char *change = json_string_value (json_object_get (cb, "ChangeType"));
    json_t *g = NULL;
    if (chat && change && strcmp (change, "dismiss") != 0 && !(g = s_group (ctx, b, groups, chat))) {
        r->error = qy_strdup ("groupchat/get: WeCom busy or unreachable");
        json_decref (cb);
        return;
    }
    r->chat = chat ? qy_strdup (chat) : NULL;
    r->item = (long) json_array_size (items);
    json_array_append_new (items, wecom_map_callback (cb, json_is_object (g) ? g : NULL));
    json_decref (cb);
}

//  One brand's rows rows [from, to): one events request, one snapshot per group.
static void s_brand (wecom_ctx_t *ctx, s_row_t *rows, int from, int to)
{
    wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, NULL, rows [from].brand_id);
    if (!b) {
        for (int i = from; i < to; i++)
            rows [i].error = qy_strdup ("brand settings unavailable");
        return;
    }
    json_t *groups = json_object (), *items = json_array ();
    for (int i = from; i < to; i++)
        s_prepare (ctx, b, &rows [i], groups, items);
    json_t *answer = NULL, *body = json_pack ("{s:O}", "events", items);
    long st = json_array_size (items) ? wecom_ingest_post (ctx, b, "/v1/events", body, &answer) : 0;
    json_decref (body);
    json_t *results = json_object_get (answer, "results");
    for (int i = from; i < to; i++) {
        s_row_t *r = &rows [i];
        if (r->item < 0)
            continue;
        const char *rs = json_string_value (json_object_get (json_array_get (results, (size_t) r->item), "status"));
        if (st == 200 || st == 400)
            r->status = rs && strcmp (rs, "rejected") == 0 ? "rejected" : rs || st == 200 ? "done" : "rejected";
        else
            r->error = qy_printf ("ingest answered %ld", st);
    }
    //  Each group read once: reconciled through the snapshot door.
    const char *chat;
    json_t *g;
    json_object_foreach (groups, chat, g) {
        if (!json_is_object (g) || (st != 200 && st != 400))
            continue;
        json_t *snap = wecom_map_snapshot (g, qy_now_us () / 1000000);
        long ss = wecom_ingest_post (ctx, b, "/v1/groups/snapshot", snap, NULL);
        json_decref (snap);
        for (int i = from; i < to && ss != 200 && ss != 400; i++)
            if (rows [i].chat && strcmp (rows [i].chat, chat) == 0 && rows [i].status) {
                rows [i].status = NULL;     //  again: its events are duplicates then, harmless
                rows [i].error = qy_printf ("snapshot: ingest answered %ld", ss);
            }
    }
    json_decref (answer);
    json_decref (groups);
    json_decref (items);
    wecom_brand_destroy (&b);
}

static void s_mark (wecom_ctx_t *ctx, s_row_t *r)
{
    char att [16], delay [16];
    long attempts = r->attempts + 1;
    qy_snprintf (att, sizeof (att), "%ld", attempts);
    qy_snprintf (delay, sizeof (delay), "%ld", attempts > 8 ? 300L : 1L << attempts);
    const char *q [] = { r->id, r->status ? r->status : "pending", att, delay, r->error };
    qy_pg_run (ctx->pg, "wecom forward mark",
               "UPDATE wecom_callbacks SET status = $2, attempts = $3::int, error = $5, "
               "  next_at = CASE WHEN $2 = 'pending' THEN now () + make_interval (secs => $4::int) ELSE next_at END, "
               "  done_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now () END WHERE id = $1", 5, q, NULL);
    qy_metric_add (!r->status ? m_retry : strcmp (r->status, "done") == 0 ? m_done
                   : strcmp (r->status, "kept") == 0 ? m_kept : m_rejected, 1);
    if (!r->status)
        qy_log_warn ("wecom callback id=%s forward put off reason=%s", r->id, r->error ? r->error : "");
}

int wecom_forward (wecom_ctx_t *ctx, int max)
{
    if (!m_done) {
        m_done = qy_counter ("qy_wecom_forwarded_total{status=\"done\"}", "callbacks handed to ingest");
        m_rejected = qy_counter ("qy_wecom_forwarded_total{status=\"rejected\"}", "callbacks ingest refused (dead letter there)");
        m_kept = qy_counter ("qy_wecom_forwarded_total{status=\"kept\"}", "callbacks kept with no ingest door (tags, other events)");
        m_retry = qy_counter ("qy_wecom_forward_retries_total", "forwards put off (WeCom or ingest unavailable)");
    }
    char lim [16];
    qy_snprintf (lim, sizeof (lim), "%d", max);
    const char *p [] = { lim };
    PGresult *res = NULL;
    if (!qy_pg_run (ctx->pg, "wecom forward begin", "BEGIN", 0, NULL, NULL))
        return -1;
    //  SKIP LOCKED: replicas take different callbacks; by id, so a group's changes go in order.
    if (!qy_pg_run (ctx->pg, "wecom forward claim",
                    "SELECT id, brand_id, xml, attempts FROM wecom_callbacks WHERE status = 'pending' AND next_at <= now () "
                    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", 1, p, &res)) {
        qy_pg_run (ctx->pg, "wecom forward rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    int n = PQntuples (res);
    s_row_t *rows = qy_calloc ((size_t) n + 1, sizeof (s_row_t));
    for (int i = 0; i < n; i++)
        rows [i] = (s_row_t) { PQgetvalue (res, i, 0), PQgetvalue (res, i, 2), qy_pg_int (res, i, 1),
                               (long) qy_pg_int (res, i, 3), NULL, NULL, NULL, -1 };
    //  A brand's run of rows at a time (in id order, brands interleave).
    for (int i = 0; i < n; ) {
        int j = i + 1;
        while (j < n && rows [j].brand_id == rows [i].brand_id)
            j++;
        s_brand (ctx, rows, i, j);
        i = j;
    }
    for (int i = 0; i < n; i++) {
        s_mark (ctx, &rows [i]);
        free (rows [i].error);
        free (rows [i].chat);
    }
    free (rows);
    PQclear (res);
    qy_pg_run (ctx->pg, "wecom forward commit", "COMMIT", 0, NULL, NULL);
    return n;
}
