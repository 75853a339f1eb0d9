//  WeCom's server API. Access tokens are cached in Redis per (corp,
//  secret) until shortly before they expire, shared by every replica;
//  only the replica holding a short Redis lock fetches one while the
//  others wait for it (single flight: WeCom limits gettoken). An answer
//  saying the token is invalid or expired drops it and retries once. A
//  frequency errcode pauses every call for that corp (a Redis key with a
//  TTL) so no replica keeps hammering.
#include "wecom.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define S_EARLY_S 300           //  refresh this long before WeCom's expiry
#define S_LOCK_MS 10000         //  a fetch taking longer frees the lock
#define S_WAIT_STEP_MS 50

struct wecom_api_t {
    char       *base;
    qy_redis_t *redis;
    int         timeout_ms, pause_ms;
};

static qy_metric_t *m_fetch, *m_refresh, *m_busy, *m_down;

wecom_api_t *wecom_api_new (const char *base, qy_redis_t *redis, int timeout_ms, int pause_ms)
{
    wecom_api_t *self = qy_calloc (1, sizeof (*self));
    self->base = qy_strdup (base);
    size_t n = strlen (self->base);
    while (n && self->base [n - 1] == '/')
        self->base [--n] = 0;
    self->redis = redis;
    self->timeout_ms = timeout_ms;
    self->pause_ms = pause_ms;
    m_fetch = qy_counter ("qy_wecom_token_fetches_total", "gettoken calls made");
    m_refresh = qy_counter ("qy_wecom_token_refreshes_total", "tokens WeCom called invalid or expired, refreshed");
    m_busy = qy_counter ("qy_wecom_api_busy_total", "calls answered with a frequency errcode (paused)");
    m_down = qy_counter ("qy_wecom_api_down_total", "calls WeCom did not answer");
    return self;
}

void wecom_api_destroy (wecom_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->base);
    free (*self_p);
    *self_p = NULL;
}

bool wecom_errcode_busy (long errcode)
{
    //  45009 API frequency, 45033 concurrency, 45011 too frequent, 45047/45035 quota, 130101 robot rate.
    return errcode == 45009 || errcode == 45033 || errcode == 45011 || errcode == 45035
        || errcode == 45047 || errcode == 130101;
}

bool wecom_errcode_token (long errcode)
{
    return errcode == 40014 || errcode == 42001 || errcode == 40001;
}

static size_t s_write (char *ptr, size_t size, size_t n, void *arg)
{
    qy_buf_t *b = arg;
    if (b->len > (16u << 20))
        return 0;                 //  no WeCom answer is that large
    qy_buf_append (b, ptr, size * n);
    return size * n;
}

//  One HTTP exchange; the JSON answer, or NULL (not reached, not JSON).
static json_t *s_http (wecom_api_t *self, const char *url, json_t *body)
{
    CURL *easy = curl_easy_init ();
    qy_buf_t answer;
    qy_buf_init (&answer);
    char *payload = body ? json_dumps (body, JSON_COMPACT) : NULL;
    struct curl_slist *h = curl_slist_append (NULL, "Content-Type: application/json");
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) self->timeout_ms);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, h);
    if (payload)
        curl_easy_setopt (easy, CURLOPT_POSTFIELDS, payload);
    CURLcode rc = curl_easy_perform (easy);
    long status = 0;
    curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *out = rc == CURLE_OK && status == 200 ? json_loadb (answer.data ? answer.data : "", answer.len, 0, NULL) : NULL;
    if (!json_is_object (out)) {
        json_decref (out);
        out = NULL;
        qy_metric_add (m_down, 1);
        qy_log_warn ("wecom api unreachable url_path=%.*s curl=%d status=%ld", (int) strcspn (url, "?"), url, (int) rc, status);
    }
    curl_slist_free_all (h);
    curl_easy_cleanup (easy);
    free (payload);
    qy_buf_free (&answer);
    return out;
}

static char *s_key (const char *what, const char *corp, const char *secret)
{
    return qy_printf ("qy:wecom:%s:%s:%016llx", what, corp, (unsigned long long) qy_hash64 (secret, strlen (secret)));
}

static char *s_get (wecom_api_t *self, const char *key)
{
    redisReply *r = qy_redis_cmd (self->redis, "GET %s", key);
    char *v = r && r->type == REDIS_REPLY_STRING ? qy_strdup (r->str) : NULL;
    if (r)
        freeReplyObject (r);
    return v;
}

//  The fetch itself, by the replica holding the lock.
static char *s_fetch (wecom_api_t *self, const char *corp, const char *secret, const char *key)
{
    char *ec = curl_easy_escape (NULL, corp, 0), *es = curl_easy_escape (NULL, secret, 0);
    char *url = qy_printf ("%s/cgi-bin/gettoken?corpid=%s&corpsecret=%s", self->base, ec, es);
    curl_free (ec);
    curl_free (es);
    qy_metric_add (m_fetch, 1);
    json_t *a = s_http (self, url, NULL);
    free (url);
    const char *tok = json_string_value (json_object_get (a, "access_token"));
    long expires = (long) json_integer_value (json_object_get (a, "expires_in"));
    char *out = NULL;
    if (tok && *tok && json_integer_value (json_object_get (a, "errcode")) == 0) {
        long ttl_s = expires > 2 * S_EARLY_S ? expires - S_EARLY_S : expires > 1 ? expires / 2 : 1;
        redisReply *r = qy_redis_cmd (self->redis, "SET %s %s EX %ld", key, tok, ttl_s);
        if (r)
            freeReplyObject (r);
        out = qy_strdup (tok);
    }
    else if (a)
        qy_log_warn ("gettoken refused corp=%s errcode=%lld", corp, (long long) json_integer_value (json_object_get (a, "errcode")));
    json_decref (a);
    return out;
}

//  The cached token unless it is the stale one WeCom just refused.
static char *s_cached (wecom_api_t *self, const char *key, const char *stale)
{
    char *tok = s_get (self, key);
    if (tok && stale && strcmp (tok, stale) == 0) {
        free (tok);
        tok = NULL;
    }
    return tok;
}

char *wecom_api_token (wecom_api_t *self, const char *corp, const char *secret, const char *stale)
{
    char *key = s_key ("tok", corp, secret), *lock = s_key ("toklock", corp, secret);
    char *tok = s_cached (self, key, stale);
    int64_t deadline = qy_mono_us () + (int64_t) self->timeout_ms * 2000;
    while (!tok && qy_mono_us () < deadline) {
        redisReply *r = qy_redis_cmd (self->redis, "SET %s 1 NX PX %d", lock, S_LOCK_MS);
        bool mine = r && r->type == REDIS_REPLY_STATUS;
        bool reached = r != NULL;
        if (r)
            freeReplyObject (r);
        if (mine || !reached) {
            //  Another replica may have finished between our look and our lock.
            tok = reached ? s_cached (self, key, stale) : NULL;
            //  Redis away: fetch alone rather than stop (WeCom tolerates it).
            if (!tok)
                tok = s_fetch (self, corp, secret, key);
            if (mine) {
                r = qy_redis_cmd (self->redis, "DEL %s", lock);
                if (r)
                    freeReplyObject (r);
            }
            break;
        }
        qy_sleep_ms (S_WAIT_STEP_MS);        //  single flight: wait for the replica fetching
        tok = s_cached (self, key, stale);
    }
    free (key);
    free (lock);
    return tok;
}

//  Drop the cached token if it is still the one WeCom refused:
//  wecom_drop_token.lua (embedded).
extern const char wecom_drop_token_lua [];
static qy_script_t s_drop = { .source = wecom_drop_token_lua };

static bool s_paused (wecom_api_t *self, const char *corp)
{
    redisReply *r = qy_redis_cmd (self->redis, "EXISTS qy:wecom:pause:%s", corp);
    bool p = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject (r);
    return p;
}

wecom_api_rc_t wecom_api_call (wecom_api_t *self, const char *corp, const char *secret,
                               const char *path, json_t *body, json_t **answer)
{
    *answer = NULL;
    if (s_paused (self, corp)) {
        *answer = json_pack ("{s:i, s:s}", "errcode", 45009, "errmsg", "paused by qy-wecom");
        return WECOM_API_BUSY;
    }
    char *stale = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *tok = wecom_api_token (self, corp, secret, stale);
        free (stale);
        stale = NULL;
        if (!tok)
            return WECOM_API_DOWN;
        char *url = qy_printf ("%s%s%saccess_token=%s", self->base, path, strchr (path, '?') ? "&" : "?", tok);
        json_t *a = s_http (self, url, body);
        free (url);
        if (!a) {
            free (tok);
            return WECOM_API_DOWN;
        }
        long code = (long) json_integer_value (json_object_get (a, "errcode"));
        if (wecom_errcode_token (code) && attempt == 0) {
            qy_metric_add (m_refresh, 1);
            char *key = s_key ("tok", corp, secret);
            const char *args [] = { key, tok };
            redisReply *r = qy_redis_script (self->redis, &s_drop, 1, 2, args, NULL);
            if (r)
                freeReplyObject (r);
            free (key);
            stale = tok;
            json_decref (a);
            continue;
        }
        free (tok);
        *answer = a;
        if (code == 0)
            return WECOM_API_OK;
        if (wecom_errcode_busy (code)) {
            qy_metric_add (m_busy, 1);
            redisReply *r = qy_redis_cmd (self->redis, "SET qy:wecom:pause:%s 1 PX %d", corp, self->pause_ms);
            if (r)
                freeReplyObject (r);
            qy_log_warn ("wecom api busy corp=%s path=%s errcode=%ld pause_ms=%d", corp, path, code, self->pause_ms);
            return WECOM_API_BUSY;
        }
        return WECOM_API_ERRCODE;
    }
    return WECOM_API_DOWN;
}
