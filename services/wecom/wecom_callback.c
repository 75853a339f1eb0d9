//  /wecom/<brand code>/callback: WeCom's URL verification (GET) and its
//  encrypted event callbacks (POST). A callback is answered only once it
//  is kept in wecom_callbacks (durable), which takes a millisecond or two
//  whatever ingest is doing: forwarding is the main loop's (wecom_forward.c).
//  A replay (same msg_signature and nonce within the window) is answered
//  success and kept once: a Redis nonce cache shared by the replicas, and
//  the table's unique key behind it when Redis is away.
#include "wecom.h"
#include "qy/deadletter.h"
#include "qy/http.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static qy_metric_t *m_ok, *m_dup, *m_forged, *m_stale, *m_bad, *m_unavail, *m_latency;

static void s_register (void)
{
    m_ok = qy_counter ("qy_wecom_callbacks_total{status=\"kept\"}", "callbacks kept for ingest");
    m_dup = qy_counter ("qy_wecom_callbacks_total{status=\"duplicate\"}", "callbacks seen before (answered success, kept once)");
    m_forged = qy_counter ("qy_wecom_callbacks_total{status=\"forged\"}", "callbacks refused 403: bad signature or receive id");
    m_stale = qy_counter ("qy_wecom_callbacks_total{status=\"stale\"}", "callbacks refused 403: timestamp outside the window");
    m_bad = qy_counter ("qy_wecom_callbacks_total{status=\"malformed\"}", "callbacks refused 400 (a dead letter when signed)");
    m_unavail = qy_counter ("qy_wecom_callbacks_total{status=\"unavailable\"}", "callbacks answered 503 (PostgreSQL away)");
    m_latency = qy_histogram ("qy_wecom_callback_seconds", "time to answer a callback");
}

static void s_metrics (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_register);
}

static unsigned s_error (qy_buf_t *out, unsigned status, const char *error)
{
    qy_buf_reset (out);
    qy_buf_puts (out, "{\"error\":");
    qy_buf_json_str (out, error);
    qy_buf_puts (out, "}\n");
    return status;
}

//  Malformed: 400, and the raw body (bounded) set aside.
static unsigned s_malformed (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *why, const char *body,
                             size_t len, qy_buf_t *out)
{
    qy_metric_add (m_bad, 1);
    size_t keep = len < (size_t) ctx->env->deadletter_max ? len : (size_t) ctx->env->deadletter_max;
    qy_log_limited (QY_LOG_WARN, "wecom callback malformed brand=%s reason=%s bytes=%zu", b->code, why, len);
    qy_deadletter (ctx->pg, b->brand_id, b->code, "wecom", "", why, body, keep);
    return s_error (out, 400, why);
}

//  Whether the timestamp is within the window of our clock.
static bool s_fresh (const char *ts, long window_s)
{
    char *end;
    long long t = ts ? strtoll (ts, &end, 10) : 0;
    if (!ts || !*ts || *end)
        return false;
    long long now = qy_now_us () / 1000000;
    return t >= now - window_s && t <= now + window_s;
}

//  Whether this (signature, nonce) was kept already, by the Redis cache
//  shared by the replicas (false when Redis is away: the table decides).
static bool s_seen (wecom_ctx_t *ctx, int64_t brand, const char *sig, const char *nonce)
{
    redisReply *r = qy_redis_cmd (ctx->redis, "EXISTS qy:wecom:nonce:%lld:%s:%s", (long long) brand, sig, nonce);
    bool seen = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject (r);
    return seen;
}

//  Remember it once it is durable (never before: a crash in between
//  would answer WeCom's retry of a callback that was never kept).
static void s_remember (wecom_ctx_t *ctx, int64_t brand, const char *sig, const char *nonce)
{
    redisReply *r = qy_redis_cmd (ctx->redis, "SET qy:wecom:nonce:%lld:%s:%s 1 EX %ld", (long long) brand, sig, nonce,
                                  ctx->env->window_s * 2);
    if (r)
        freeReplyObject (r);
}

static unsigned s_post (wecom_ctx_t *ctx, const wecom_brand_t *b, const unsigned char key [32],
                        const wecom_callback_req_t *req, qy_buf_t *out)
{
    const char *sig = req->sig, *ts = req->ts, *nonce = req->nonce, *body = req->body;
    size_t len = req->len;
    char *enc = wecom_xml_encrypt (body, len);
    //  Without an Encrypt element there is nothing the signature covers:
    //  anyone may send this, so it is answered and counted, not stored.
    if (!enc) {
        qy_metric_add (m_bad, 1);
        qy_log_limited (QY_LOG_WARN, "wecom callback malformed, not kept (unsigned) brand=%s bytes=%zu", b->code, len);
        return s_error (out, 400, "body is not XML with an Encrypt element");
    }
    char want [41];
    wecom_signature (b->token, ts, nonce, enc, want);
    if (strcmp (want, sig) != 0) {
        free (enc);
        qy_metric_add (m_forged, 1);
        qy_log_limited (QY_LOG_WARN, "wecom callback bad signature brand=%s bytes=%zu", b->code, len);
        return s_error (out, 403, "bad signature");
    }
    if (!s_fresh (ts, ctx->env->window_s)) {
        free (enc);
        qy_metric_add (m_stale, 1);
        qy_log_limited (QY_LOG_WARN, "wecom callback timestamp outside the window brand=%s timestamp=%.20s", b->code, ts);
        return s_error (out, 403, "timestamp outside the window");
    }
    char *xml = NULL;
    size_t xlen = 0;
    wecom_rc_t rc = wecom_decrypt (key, enc, b->corp_id, &xml, &xlen);
    free (enc);
    if (rc == WECOM_BAD_RECEIVER) {
        qy_metric_add (m_forged, 1);
        qy_log_limited (QY_LOG_WARN, "wecom callback receive id is not the corp id brand=%s", b->code);
        return s_error (out, 403, "receive id mismatch");
    }
    if (rc != WECOM_OK)
        return s_malformed (ctx, b, wecom_rc_name (rc), body, len, out);
    char err [128];
    json_t *ev = wecom_xml_event (xml, xlen, err, sizeof (err));
    const char *event = ev ? json_string_value (json_object_get (ev, "Event")) : NULL;
    if (!event || !*event) {
        json_decref (ev);
        free (xml);
        return s_malformed (ctx, b, ev ? "decrypted XML has no Event" : "decrypted body is not XML", body, len, out);
    }
    unsigned status = 200;
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) b->brand_id);
    const char *p [] = { bid, sig, nonce, event, xml };
    PGresult *res = NULL;
    if (s_seen (ctx, b->brand_id, sig, nonce))
        qy_metric_add (m_dup, 1);
    //  The table's unique key decides when two replicas (or Redis away) both take it.
    else if (qy_pg_run (ctx->pg, "wecom keep callback",
                        "INSERT INTO wecom_callbacks (brand_id, signature, nonce, event, xml) VALUES ($1, $2, $3, $4, $5) "
                        "ON CONFLICT DO NOTHING RETURNING 1", 5, p, &res)) {
        qy_metric_add (PQntuples (res) ? m_ok : m_dup, 1);
        PQclear (res);
        s_remember (ctx, b->brand_id, sig, nonce);
        qy_log_debug ("wecom callback kept brand=%s event=%s nonce=%s", b->code, event, nonce);
    }
    else {
        qy_metric_add (m_unavail, 1);        //  WeCom retries: that one is taken
        status = s_error (out, 503, "storage unavailable");
    }
    json_decref (ev);
    free (xml);
    if (status == 200)
        qy_buf_puts (out, "success");
    return status;
}

unsigned wecom_callback (wecom_ctx_t *ctx, const wecom_callback_req_t *req, qy_buf_t *out)
{
    const char *method = req->method, *sig = req->sig, *ts = req->ts, *nonce = req->nonce, *echostr = req->echostr;
    s_metrics ();
    wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, req->code, 0);
    if (!b)
        return s_error (out, qy_pg_ok (ctx->pg) ? 404 : 503, qy_pg_ok (ctx->pg) ? "unknown brand" : "storage unavailable");
    unsigned char key [32];
    unsigned status;
    if (!sig || !ts || !nonce || wecom_aes_key (b->aes_key, key))
        status = s_error (out, 400, !sig || !ts || !nonce ? "missing msg_signature, timestamp or nonce" : "bad EncodingAESKey");
    else
    if (strcmp (method, "GET") == 0) {
        //  URL verification: echostr is signed and encrypted like a body.
        char want [41];
        char *plain = NULL;
        size_t plen = 0;
        wecom_signature (b->token, ts, nonce, echostr ? echostr : "", want);
        if (!echostr || strcmp (want, sig) != 0) {
            qy_metric_add (m_forged, 1);
            status = s_error (out, 403, "bad signature");
        }
        else if (!s_fresh (ts, ctx->env->window_s)) {
            qy_metric_add (m_stale, 1);
            status = s_error (out, 403, "timestamp outside the window");
        }
        else if (wecom_decrypt (key, echostr, b->corp_id, &plain, &plen) != WECOM_OK)
            status = s_error (out, 400, "echostr does not decrypt");
        else {
            qy_buf_append (out, plain, plen);
            free (plain);
            status = 200;
            qy_log_info ("wecom callback url verified brand=%s", b->code);
        }
    }
    else
    if (strcmp (method, "POST") == 0)
        status = s_post (ctx, b, key, req, out);
    else
        status = s_error (out, 405, "method not allowed");
    wecom_brand_destroy (&b);
    return status;
}

//  Each HTTP thread's context, made on its first request, destroyed with the thread.
static pthread_key_t s_ctx_key;
static pthread_once_t s_ctx_once = PTHREAD_ONCE_INIT;
static void s_ctx_free (void *p)
{
    wecom_ctx_t *ctx = p;
    wecom_ctx_destroy (&ctx);
}
static void s_ctx_init (void)
{
    pthread_key_create (&s_ctx_key, s_ctx_free);
}

unsigned wecom_route (void *arg, struct qy_http_req_t *req, qy_buf_t *out, const char **type)
{
    wecom_router_t *r = arg;
    int64_t t0 = qy_mono_us ();
    if (!atomic_load (&r->ready))
        return s_error (out, 503, "starting");
    pthread_once (&s_ctx_once, s_ctx_init);
    wecom_ctx_t *s_ctx = pthread_getspecific (s_ctx_key);
    if (!s_ctx) {
        s_ctx = wecom_ctx_new (r->env, r->pg_dsn, r->redis_host, r->redis_port);
        pthread_setspecific (s_ctx_key, s_ctx);
    }
    s_metrics ();
    const char *url = qy_http_url (req), *method = qy_http_method (req);
    char code [65], what [16];
    int n = 0;
    //  A code that is not UTF-8 names no brand: PostgreSQL would refuse the
    //  look-up with an error line per request.
    if (sscanf (url, "/wecom/%64[^/]/%15[a-z]%n", code, what, &n) != 2 || url [n] || !qy_utf8_valid (code))
        return s_error (out, 404, "not found");
    size_t len;
    const char *body = qy_http_body (req, &len);
    unsigned status;
    if (strcmp (what, "callback") == 0) {
        wecom_callback_req_t cb = {
            .code = code, .method = method, .body = body, .len = len,
            .sig = qy_http_query (req, "msg_signature"), .ts = qy_http_query (req, "timestamp"),
            .nonce = qy_http_query (req, "nonce"), .echostr = qy_http_query (req, "echostr"),
        };
        status = wecom_callback (s_ctx, &cb, out);
        *type = "text/plain; charset=utf-8";
        qy_metric_observe (m_latency, qy_mono_us () - t0);
    }
    else if (strcmp (what, "deliver") == 0 && strcmp (method, "POST") == 0)
        status = wecom_deliver (s_ctx, code, qy_http_header (req, "Authorization"), qy_http_header (req, "Idempotency-Key"),
                                body, len, out);
    else
        status = s_error (out, 404, "not found");
    return status;
}
