//  Kept callbacks → ingest, from the main loop. Rows are claimed with
//  FOR UPDATE SKIP LOCKED, so replicas share the work and none is handled
//  twice at once; ingest's ids make a second handling a duplicate anyway.
//  A chat change first reads the group (groupchat/get): its answer fills
//  in what the callback lacks (who joined, by which channel, under which
//  name) and is reconciled through ingest's snapshot door.
#include "wecom.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static qy_metric_t *m_done, *m_retry, *m_rejected, *m_kept;

typedef enum { S_DONE, S_REJECTED, S_RETRY } s_outcome_t;

static size_t s_sink (char *ptr, size_t size, size_t n, void *arg)
{
    (void) ptr; (void) arg;
    return size * n;
}

long wecom_ingest_post (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *path, json_t *body)
{
    char *url = qy_printf ("%s%s", ctx->env->ingest_url, path), *auth = qy_printf ("Authorization: Bearer %s", b->ingest_token);
    char *payload = json_dumps (body, JSON_COMPACT);
    struct curl_slist *h = curl_slist_append (curl_slist_append (NULL, "Content-Type: application/json"), auth);
    CURL *easy = curl_easy_init ();
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, ctx->env->api_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_sink);
    long status = 0;
    if (curl_easy_perform (easy) == CURLE_OK)
        curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup (easy);
    curl_slist_free_all (h);
    memset (auth, 0, strlen (auth));      //  it holds the credential
    free (auth);
    free (url);
    free (payload);
    return status;
}

static s_outcome_t s_chat (wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *cb, char **error)
{
    const char *chat = json_string_value (json_object_get (cb, "ChatId"));
    const char *change = json_string_value (json_object_get (cb, "ChangeType"));
    json_t *group = NULL;
    if (chat && change && strcmp (change, "dismiss") != 0) {
        json_t *q = json_pack ("{s:s, s:i}", "chat_id", chat, "need_name", 1);
        wecom_api_rc_t rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b),
                                            "/cgi-bin/externalcontact/groupchat/get", q, &group);
        json_decref (q);
        if (rc == WECOM_API_BUSY || rc == WECOM_API_DOWN) {
            json_decref (group);
            *error = qy_strdup (rc == WECOM_API_BUSY ? "groupchat/get: WeCom busy" : "groupchat/get: WeCom unreachable");
            return S_RETRY;
        }
        if (rc == WECOM_API_ERRCODE) {
            qy_log_warn ("brand=%s chat=%s groupchat/get errcode=%lld: forwarded without the snapshot", b->code, chat,
                         (long long) json_integer_value (json_object_get (group, "errcode")));
            json_decref (group);
            group = NULL;
        }
    }
    json_t *item = wecom_map_callback (cb, group);
    json_t *body = json_pack ("{s:[o]}", "events", item);
    long st = wecom_ingest_post (ctx, b, "/v1/events", body);
    json_decref (body);
    s_outcome_t out = st == 200 ? S_DONE : st == 400 ? S_REJECTED : S_RETRY;
    if (out != S_RETRY && group) {
        json_t *snap = wecom_map_snapshot (group, qy_now_us () / 1000000);
        long ss = wecom_ingest_post (ctx, b, "/v1/groups/snapshot", snap);
        json_decref (snap);
        if (ss != 200 && ss != 400)
            out = S_RETRY;          //  the events again are duplicates: harmless
    }
    json_decref (group);
    if (out == S_RETRY)
        *error = qy_printf ("ingest answered %ld", st);
    else if (out == S_REJECTED)
        *error = qy_strdup ("ingest rejected it (its dead letter)");
    return out;
}

//  One kept callback. Sets *status ("done", "rejected", "kept") or leaves it NULL to retry.
static const char *s_one (wecom_ctx_t *ctx, int64_t brand_id, const char *xml, char **error)
{
    wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, NULL, brand_id);
    if (!b) {
        *error = qy_strdup ("brand settings unavailable");
        return NULL;
    }
    char err [128];
    json_t *cb = wecom_xml_event (xml, strlen (xml), err, sizeof (err));
    const char *status = NULL;
    if (!cb) {
        *error = qy_strdup (err);
        status = "rejected";
    }
    else if (!wecom_is_chat_event (cb))
        status = "kept";           //  change_external_contact: 1:1 contacts, no ingest door (docs/wecom.md)
    else {
        s_outcome_t o = s_chat (ctx, b, cb, error);
        status = o == S_DONE ? "done" : o == S_REJECTED ? "rejected" : NULL;
        if (o == S_RETRY)
            qy_log_warn ("brand=%s callback forward retried reason=\"%s\"", b->code, *error);
    }
    json_decref (cb);
    wecom_brand_destroy (&b);
    return status;
}

int wecom_forward (wecom_ctx_t *ctx, int max)
{
    if (!m_done) {
        m_done = qy_counter ("qy_wecom_forwarded_total{status=\"done\"}", "callbacks handed to ingest");
        m_rejected = qy_counter ("qy_wecom_forwarded_total{status=\"rejected\"}", "callbacks ingest refused (dead letter there)");
        m_kept = qy_counter ("qy_wecom_forwarded_total{status=\"kept\"}", "callbacks kept with no ingest door (contacts)");
        m_retry = qy_counter ("qy_wecom_forward_retries_total", "forwards put off (WeCom or ingest unavailable)");
    }
    char lim [16];
    qy_snprintf (lim, sizeof (lim), "%d", max);
    const char *p [] = { lim };
    PGresult *res = NULL;
    if (!qy_pg_run (ctx->pg, "wecom forward begin", "BEGIN", 0, NULL, NULL))
        return -1;
    if (!qy_pg_run (ctx->pg, "wecom forward claim",
                    "SELECT id, brand_id, xml, attempts FROM wecom_callbacks WHERE status = 'pending' AND next_at <= now () "
                    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", 1, p, &res)) {
        qy_pg_run (ctx->pg, "wecom forward rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    int n = PQntuples (res);
    for (int i = 0; i < n; i++) {
        char *error = NULL;
        const char *status = s_one (ctx, qy_pg_int (res, i, 1), PQgetvalue (res, i, 2), &error);
        long attempts = (long) qy_pg_int (res, i, 3) + 1;
        char att [16], delay [16];
        qy_snprintf (att, sizeof (att), "%ld", attempts);
        qy_snprintf (delay, sizeof (delay), "%ld", attempts > 8 ? 300L : 1L << attempts);
        const char *q [] = { PQgetvalue (res, i, 0), status ? status : "pending", att, delay, error };
        qy_pg_run (ctx->pg, "wecom forward mark",
                   "UPDATE wecom_callbacks SET status = $2, attempts = $3::int, error = $5, "
                   "  next_at = CASE WHEN $2 = 'pending' THEN now () + make_interval (secs => $4::int) ELSE next_at END, "
                   "  done_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now () END WHERE id = $1", 5, q, NULL);
        qy_metric_add (!status ? m_retry : strcmp (status, "done") == 0 ? m_done
                       : strcmp (status, "kept") == 0 ? m_kept : m_rejected, 1);
        free (error);
    }
    PQclear (res);
    qy_pg_run (ctx->pg, "wecom forward commit", "COMMIT", 0, NULL, NULL);
    return n;
}
