//  qy-wecomsim: stands in for WeCom's server API (wecom.api_base) and sends
//  correctly encrypted callbacks to the connector, scriptable by tests.
//  API: gettoken (tokens expire after --token-ttl, or at once on
//  POST /sim/expire), externalcontact/groupchat/list and /get (groups set
//  with POST /sim/group), add_msg_template, get_groupmsg_list_v2,
//  get_groupmsg_task, get_groupmsg_send_result (each sender confirms a mass
//  send after the delay POST /sim/staff gives them, or never; "chat_status"
//  there: their chats' send result once sent, default 1),
//  group_welcome_template/add and message/send (kept: GET /sim/stats).
//  Misbehaviour: --rate-limit N calls a second then errcode 45009; POST
//  /sim/errcode {"errcode":E,"count":N[,"path":P]} answers E to the next N.
//  Callbacks: POST /sim/callback {"xml":…[,"timestamp":T,"nonce":N,"repeat":K]}
//  encrypts and signs with --cb-token/--cb-aes-key/--corp, POSTs it to
//  --callback-url K times (the same bytes, as WeCom retries) and answers
//  the connector's statuses.
//  --load N --rate R (with the callback options): send N add_member
//  callbacks at R a second and print the answer latencies (benchmarks).
#include "wecom.h"
#include "qy/sim.h"
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock;
    json_t *groups;        //  chat_id → group_chat object
    json_t *tokens;        //  token → expiry (unix s)
    json_t *sends;         //  msgid → {sender, chat_ids, created}
    json_t *staff;         //  userid → seconds to confirm (-1 never)
    json_t *results;       //  userid → get_groupmsg_send_result status of their chats once sent (default 1)
    json_t *messages;      //  message/send bodies
    json_t *templates;     //  welcome templates
    json_t *calls;         //  path → count
    json_t *errs;          //  [{errcode, count, path}]
    json_t *by_secret;     //  corpsecret → gettoken calls
    long    token_ttl, rate_limit, gettoken, seq;
    int64_t rate_second;
    long    rate_count;
    const char *cb_url, *cb_token, *cb_aes, *corp;
} s;

static enum MHD_Result s_send (struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *text = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    enum MHD_Result rc = qy_sim_send (c, status, text);
    free (text);
    return rc;
}

static json_t *s_err (long code, const char *msg)
{
    return json_pack ("{s:i, s:s}", "errcode", (int) code, "errmsg", msg);
}

static long s_now (void) { return (long) (qy_now_us () / 1000000); }

//  The scripted errcode for path, if one is due (s.lock held).
static long s_injected (const char *path)
{
    size_t i;
    json_t *e;
    json_array_foreach (s.errs, i, e) {
        const char *p = json_string_value (json_object_get (e, "path"));
        long n = (long) json_integer_value (json_object_get (e, "count"));
        if (n <= 0 || (p && !strstr (path, p)))
            continue;
        json_object_set_new (e, "count", json_integer (n - 1));
        return (long) json_integer_value (json_object_get (e, "errcode"));
    }
    return 0;
}

static json_t *s_gettoken (struct MHD_Connection *c)
{
    const char *corp = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "corpid");
    if (!corp || strcmp (corp, s.corp) != 0)
        return s_err (40013, "invalid corpid");
    unsigned char r [16];
    RAND_bytes (r, sizeof (r));
    qy_buf_t t;
    qy_buf_init (&t);
    qy_buf_hex (&t, r, sizeof (r));
    json_object_set_new (s.tokens, t.data, json_integer (s_now () + s.token_ttl));
    s.gettoken++;
    const char *secret = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "corpsecret");
    secret = secret ? secret : "";
    json_object_set_new (s.by_secret, secret, json_integer (json_integer_value (json_object_get (s.by_secret, secret)) + 1));
    json_t *out = json_pack ("{s:i, s:s, s:s, s:i}", "errcode", 0, "errmsg", "ok", "access_token", t.data, "expires_in", (int) s.token_ttl);
    qy_buf_free (&t);
    return out;
}

static int s_confirm_s (const char *userid)
{
    json_t *v = json_object_get (s.staff, userid ? userid : "");
    return v ? (int) json_integer_value (v) : -1;
}

//  A mass send's status for its sender now: 1 sent, 0 not yet.
static int s_status (json_t *send, long *send_time)
{
    int after = s_confirm_s (json_string_value (json_object_get (send, "sender")));
    long created = (long) json_integer_value (json_object_get (send, "created"));
    *send_time = after >= 0 ? created + after : 0;
    return after >= 0 && s_now () >= created + after ? 1 : 0;
}

static json_t *s_api (const char *path, json_t *q)
{
    if (strstr (path, "groupchat/get")) {
        json_t *g = json_object_get (s.groups, json_string_value (json_object_get (q, "chat_id")) ?: "");
        return g ? json_pack ("{s:i, s:s, s:O}", "errcode", 0, "errmsg", "ok", "group_chat", g) : s_err (49008, "chat not found");
    }
    if (strstr (path, "groupchat/list")) {
        json_t *list = json_array (), *g;
        const char *k;
        json_object_foreach (s.groups, k, g)
            json_array_append_new (list, json_pack ("{s:s, s:i}", "chat_id", k, "status", 0));
        return json_pack ("{s:i, s:s, s:o, s:s}", "errcode", 0, "errmsg", "ok", "group_chat_list", list, "next_cursor", "");
    }
    if (strstr (path, "add_msg_template")) {
        const char *sender = json_string_value (json_object_get (q, "sender"));
        if (!sender || strcmp (json_string_value (json_object_get (q, "chat_type")) ?: "", "group") != 0)
            return s_err (41048, "sender and chat_type group needed");
        char id [48];
        qy_snprintf (id, sizeof (id), "msgSIM%06ld", ++s.seq);
        json_object_set_new (s.sends, id, json_pack ("{s:s, s:O, s:i, s:O}", "sender", sender, "chat_ids",
                             json_object_get (q, "chat_id_list") ?: json_null (), "created", (int) s_now (), "text", json_object_get (q, "text")));
        return json_pack ("{s:i, s:s, s:[], s:s}", "errcode", 0, "errmsg", "ok", "fail_list", "msgid", id);
    }
    json_t *send = json_object_get (s.sends, json_string_value (json_object_get (q, "msgid")) ?: "");
    if (strstr (path, "get_groupmsg_task") || strstr (path, "get_groupmsg_send_result")) {
        if (!send)
            return s_err (41063, "msgid not found");
        long at;
        int st = s_status (send, &at);
        const char *sender = json_string_value (json_object_get (send, "sender"));
        //  As WeCom: the member's task is 0 not sent, 2 sent; each chat's result
        //  0 not sent, 1 sent, 2 not a friend, 3 over the receive limit.
        if (strstr (path, "get_groupmsg_task"))
            return json_pack ("{s:i, s:s, s:s, s:[{s:s, s:i, s:I}]}", "errcode", 0, "errmsg", "ok", "next_cursor", "",
                              "task_list", "userid", sender, "status", st ? 2 : 0, "send_time", (json_int_t) (st ? at : 0));
        json_t *r = json_object_get (s.results, sender ? sender : "");
        if (st && r)
            st = (int) json_integer_value (r);
        json_t *list = json_array (), *chat;
        size_t i;
        json_array_foreach (json_object_get (send, "chat_ids"), i, chat)
            json_array_append_new (list, json_pack ("{s:O, s:s, s:i, s:I}", "chat_id", chat, "userid", sender, "status", st,
                                                    "send_time", (json_int_t) (st ? at : 0)));
        return json_pack ("{s:i, s:s, s:s, s:o}", "errcode", 0, "errmsg", "ok", "next_cursor", "", "send_list", list);
    }
    if (strstr (path, "get_groupmsg_list_v2")) {
        json_t *list = json_array (), *v;
        const char *k;
        json_object_foreach (s.sends, k, v)
            json_array_append_new (list, json_pack ("{s:s, s:s, s:i}", "msgid", k, "creator", json_string_value (json_object_get (v, "sender")),
                                                    "create_type", 0));
        return json_pack ("{s:i, s:s, s:s, s:o}", "errcode", 0, "errmsg", "ok", "next_cursor", "", "group_msg_list", list);
    }
    if (strstr (path, "group_welcome_template/add")) {
        char id [48];
        qy_snprintf (id, sizeof (id), "tplSIM%06ld", ++s.seq);
        json_t *t = json_deep_copy (q);
        json_object_set_new (t, "template_id", json_string (id));
        json_array_append_new (s.templates, t);
        return json_pack ("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "template_id", id);
    }
    if (strstr (path, "message/send")) {
        json_array_append (s.messages, q);
        return json_pack ("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "msgid", "appmsgSIM");
    }
    return s_err (60011, "no such api in the simulator");
}

//  One API call: token, rate limit and scripted errcodes, then the API (s.lock held).
static json_t *s_cgi (struct MHD_Connection *c, const char *url, json_t *q)
{
    json_object_set_new (s.calls, url, json_integer (json_integer_value (json_object_get (s.calls, url)) + 1));
    if (strcmp (url, "/cgi-bin/gettoken") == 0)
        return s_gettoken (c);
    const char *tok = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "access_token");
    json_t *exp = json_object_get (s.tokens, tok ? tok : "");
    if (!exp)
        return s_err (40014, "invalid access_token");
    if (json_integer_value (exp) <= s_now ())
        return s_err (42001, "access_token expired");
    int64_t sec = qy_now_us () / 1000000;
    if (sec != s.rate_second) {
        s.rate_second = sec;
        s.rate_count = 0;
    }
    if (s.rate_limit && ++s.rate_count > s.rate_limit)
        return s_err (45009, "api freq out of limit");
    long e = s_injected (url);
    if (e)
        return s_err (e, "scripted by the test");
    return s_api (url, q);
}

//  Send one callback (xml) to the connector: its HTTP status, answer in out.
static long s_callback (const char *xml, const char *ts, const char *nonce, qy_buf_t *out, double *ms)
{
    unsigned char key [32], rnd [16];
    if (!s.cb_url || wecom_aes_key (s.cb_aes, key))
        return -1;
    //  The 16 "random" bytes follow from what is sent, so a repeat (the same
    //  xml, timestamp and nonce) is the same bytes, as WeCom's retries are.
    char *seed = qy_printf ("%s|%s|%s", ts, nonce, xml);
    unsigned char digest [SHA256_DIGEST_LENGTH];
    SHA256 ((const unsigned char *) seed, strlen (seed), digest);
    memcpy (rnd, digest, sizeof (rnd));
    free (seed);
    char *enc = wecom_encrypt (key, rnd, xml, strlen (xml), s.corp), sig [41];
    wecom_signature (s.cb_token, ts, nonce, enc, sig);
    char *body = qy_printf ("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[]]></AgentID>"
                            "<Encrypt><![CDATA[%s]]></Encrypt></xml>", s.corp, enc);
    char *en = curl_easy_escape (NULL, nonce, 0);
    char *url = qy_printf ("%s?msg_signature=%s&timestamp=%s&nonce=%s", s.cb_url, sig, ts, en);
    CURL *easy = curl_easy_init ();
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, NULL);
    FILE *sink = out ? NULL : fopen ("/dev/null", "w");
    char *mem = NULL;
    size_t memlen = 0;
    FILE *cap = out ? open_memstream (&mem, &memlen) : sink;
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, cap);
    int64_t t0 = qy_mono_us ();
    long status = 0;
    if (curl_easy_perform (easy) == CURLE_OK)
        curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    if (ms)
        *ms = (double) (qy_mono_us () - t0) / 1000.0;
    fclose (cap);
    if (out && mem)
        qy_buf_append (out, mem, memlen);
    free (mem);
    curl_easy_cleanup (easy);
    curl_free (en);
    free (url); free (body); free (enc);
    return status;
}

static json_t *s_control (const char *url, json_t *q)
{
    if (strcmp (url, "/sim/group") == 0) {
        const char *id = json_string_value (json_object_get (q, "chat_id"));
        if (!id)
            return s_err (1, "chat_id needed");
        json_object_set (s.groups, id, q);
    }
    else if (strcmp (url, "/sim/expire") == 0) {
        const char *k;
        json_t *v;
        json_object_foreach (s.tokens, k, v)
            json_integer_set (v, 0);
    }
    else if (strcmp (url, "/sim/errcode") == 0)
        json_array_append (s.errs, q);
    else if (strcmp (url, "/sim/staff") == 0) {
        const char *u = json_string_value (json_object_get (q, "userid")) ?: "";
        json_object_set_new (s.staff, u, json_integer (json_is_integer (json_object_get (q, "confirm_after_s"))
                                                       ? json_integer_value (json_object_get (q, "confirm_after_s")) : -1));
        if (json_is_integer (json_object_get (q, "chat_status")))
            json_object_set (s.results, u, json_object_get (q, "chat_status"));
    }
    else if (strcmp (url, "/sim/stats") == 0)
        return json_pack ("{s:i, s:O, s:O, s:O, s:O, s:O, s:i}", "gettoken", (int) s.gettoken, "gettoken_by_secret", s.by_secret, "calls", s.calls,
                          "messages", s.messages, "templates", s.templates, "sends", s.sends, "tokens", (int) json_object_size (s.tokens));
    else
        return NULL;
    return s_err (0, "ok");
}

static enum MHD_Result s_handle (struct MHD_Connection *c, const char *url, const char *method,
                                 const char *body, size_t len)
{
    json_t *q = len ? json_loadb (body, len, 0, NULL) : json_object ();
    if (!q)
        return s_send (c, 200, s_err (47001, "data format error"));
    if (strcmp (url, "/sim/callback") == 0) {
        //  Outside the lock: the connector may call us back meanwhile.
        const char *xml = json_string_value (json_object_get (q, "xml"));
        char ts [24], nonce [40];
        qy_snprintf (ts, sizeof (ts), "%s", json_string_value (json_object_get (q, "timestamp")) ?: "");
        if (!*ts)
            qy_snprintf (ts, sizeof (ts), "%ld", s_now ());
        qy_snprintf (nonce, sizeof (nonce), "%s", json_string_value (json_object_get (q, "nonce")) ?: "");
        if (!*nonce)
            qy_snprintf (nonce, sizeof (nonce), "%08lx%08lx", (long) random (), (long) random ());
        long repeat = json_integer_value (json_object_get (q, "repeat")) ?: 1;
        json_t *statuses = json_array ();
        qy_buf_t ans;
        qy_buf_init (&ans);
        for (long i = 0; i < repeat && xml; i++) {
            qy_buf_reset (&ans);
            json_array_append_new (statuses, json_integer (s_callback (xml, ts, nonce, &ans, NULL)));
        }
        json_t *out = json_pack ("{s:o, s:s}", "statuses", statuses, "answer", ans.data ? ans.data : "");
        qy_buf_free (&ans);
        json_decref (q);
        return s_send (c, 200, out);
    }
    pthread_mutex_lock (&s.lock);
    json_t *out = strncmp (url, "/sim/", 5) == 0 ? s_control (url, q) : strncmp (url, "/cgi-bin/", 9) == 0 ? s_cgi (c, url, q) : NULL;
    pthread_mutex_unlock (&s.lock);
    json_decref (q);
    (void) method;
    return out ? s_send (c, 200, out) : s_send (c, 404, s_err (404, "not found"));
}

static int s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  --load: n add_member callbacks at rate a second (S_LOAD_THREADS senders,
//  each its share on schedule, so one slow answer does not hold the rest),
//  each a new nonce; latencies printed.
#define S_LOAD_THREADS 8
typedef struct { long n, rate, first; const char *chat; double *ms; long ok; int64_t t0; } s_load_t;

static void *s_loader (void *arg)
{
    s_load_t *l = arg;
    for (long i = l->first; i < l->n; i += S_LOAD_THREADS) {
        int64_t due = l->t0 + i * 1000000 / l->rate;
        while (qy_mono_us () < due)
            usleep (200);
        char ts [24], nonce [32];
        qy_snprintf (ts, sizeof (ts), "%ld", s_now ());
        qy_snprintf (nonce, sizeof (nonce), "load%ld_%ld", (long) getpid (), i);
        char *xml = qy_printf ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            "<CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event>"
            "<ChatId><![CDATA[%s]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail>"
            "<JoinScene>3</JoinScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[wmLoad%ld]]></Item></MemChangeList></xml>",
            s.corp, ts, l->chat, i);
        l->ok += s_callback (xml, ts, nonce, NULL, &l->ms [i]) == 200;
        free (xml);
    }
    return NULL;
}

static int s_load (long n, long rate, const char *chat)
{
    double *ms = qy_calloc ((size_t) n, sizeof (double));
    s_load_t l [S_LOAD_THREADS];
    pthread_t th [S_LOAD_THREADS];
    int64_t t0 = qy_mono_us ();
    long ok = 0;
    for (int k = 0; k < S_LOAD_THREADS; k++) {
        l [k] = (s_load_t) { n, rate, k, chat, ms, 0, t0 };
        pthread_create (&th [k], NULL, s_loader, &l [k]);
    }
    for (int k = 0; k < S_LOAD_THREADS; k++) {
        pthread_join (th [k], NULL);
        ok += l [k].ok;
    }
    double secs = (double) (qy_mono_us () - t0) / 1e6;
    qsort (ms, (size_t) n, sizeof (double), s_cmp);
    printf ("callbacks=%ld ok=%ld seconds=%.2f rate=%.0f/s p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", n, ok, secs, (double) n / secs,
            ms [n / 2], ms [(size_t) ((double) n * 0.99)], ms [n - 1]);
    free (ms);
    return ok == n ? 0 : 1;
}

int main (int argc, char **argv)
{
    int port = 0;
    long load = 0, rate = 100;
    const char *port_file = NULL, *chat = "wrLoad";
    pthread_mutex_init (&s.lock, NULL);
    s.groups = json_object (); s.tokens = json_object (); s.sends = json_object (); s.staff = json_object (); s.results = json_object ();
    s.messages = json_array (); s.templates = json_array (); s.calls = json_object (); s.errs = json_array (); s.by_secret = json_object ();
    s.token_ttl = 7200;
    s.corp = "wwSimCorp";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (!strcmp (argv [i], "--port") && v) { port = atoi (v); i++; }
        else if (!strcmp (argv [i], "--port-file") && v) { port_file = v; i++; }
        else if (!strcmp (argv [i], "--token-ttl") && v) { s.token_ttl = atol (v); i++; }
        else if (!strcmp (argv [i], "--rate-limit") && v) { s.rate_limit = atol (v); i++; }
        else if (!strcmp (argv [i], "--corp") && v) { s.corp = v; i++; }
        else if (!strcmp (argv [i], "--callback-url") && v) { s.cb_url = v; i++; }
        else if (!strcmp (argv [i], "--cb-token") && v) { s.cb_token = v; i++; }
        else if (!strcmp (argv [i], "--cb-aes-key") && v) { s.cb_aes = v; i++; }
        else if (!strcmp (argv [i], "--load") && v) { load = atol (v); i++; }
        else if (!strcmp (argv [i], "--rate") && v) { rate = atol (v); i++; }
        else if (!strcmp (argv [i], "--chat") && v) { chat = v; i++; }
        else {
            fprintf (stderr, "usage: qy-wecomsim [--port N] [--port-file F] [--corp ID] [--token-ttl S] [--rate-limit N]\n"
                             "         [--callback-url URL --cb-token T --cb-aes-key K] [--load N [--rate R] [--chat ID]]\n");
            return 2;
        }
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    if (load > 0)
        return s_load (load, rate > 0 ? rate : 100, chat);
    int rc = qy_sim_serve ("qy-wecomsim", port, port_file, s_handle);
    json_t *all [] = { s.groups, s.tokens, s.sends, s.staff, s.results, s.messages, s.templates, s.calls, s.errs, s.by_secret };
    for (size_t i = 0; i < QY_ARRAY_LEN (all); i++)
        json_decref (all [i]);
    curl_global_cleanup ();
    return rc;
}
