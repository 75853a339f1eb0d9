//  qyctl gateway: the edges of a brand (docs/gateway.md).
//    gateway set BRAND URL [--token-file F]       where notifier delivers posts and actions
//    gateway credential add BRAND NAME --token-file F | --hmac-file F   (secrets never on the command line)
//    gateway credential revoke BRAND NAME | list BRAND   who may call ingest's HTTP front door
//    gateway credential rotate BRAND NAME …         qyctl_gatecred.c
//    gateway alerts set BRAND URL [--store CODE] [--msgtype text|markdown] [--mention a,b] [--mobile 138…,…]
//    gateway alerts list BRAND                     where operator alerts go (WeCom group robots)
//    gateway push FILE|- [--endpoint E]            JSON-lines deliveries onto the notifier hop
//    gateway pause URL SECONDS                     hold deliveries to a destination (maintenance)
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/util.h"
#include "qy/redis.h"
#include "qy/zmq.h"
#include "qunyun.pb-c.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>


static bool s_is_url (const char *url)
{
    return strncmp (url, "http://", 7) == 0 || strncmp (url, "https://", 8) == 0;
}

static int s_set (void)
{
    const char *brand = qyctl_arg (1), *url = qyctl_arg (2);
    if (!brand || !url)
        qyctl_usage_error ("these arguments do not go together");
    if (!s_is_url (url))
        qyctl_die ("gateway URL must start with http:// or https://");
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, id);
    char *token = qyctl_secret ("token", "QY_GATEWAY_TOKEN");
    const char *p [] = { bid, url, token };
    PQclear (qyctl_exec ("UPDATE brands SET gateway_url = $2, gateway_token = coalesce ($3, gateway_token) WHERE id = $1", 3, p));
    qyctl_audit (id, "gateway.set", "brand", brand);
    free (token);
    qyctl_ack ((const char *[]) { "brand", brand, "gateway_url", url, NULL }, "gateway of %s: %s", brand, url);
    return 0;
}

static int s_credential (void)
{
    const char *op = qyctl_arg (1);
    if (op && strcmp (op, "rotate") == 0)
        return qyctl_gateway_credential_rotate ();
    if (op && strcmp (op, "list") == 0 && qyctl_arg (2)) {
        qyctl_list ("SELECT name, kind, enabled, created_at, rotated_at, prev_not_after, "
                    "  kind = 'hmac' AND secret IS NOT NULL AS plain_secret "
                    "FROM gateway_credentials WHERE brand_id = $1 ORDER BY name",
                    qyctl_arg (2));
        return 0;
    }
    if (op && strcmp (op, "revoke") == 0) {
        //  A name is unique across brands, but an operator acts for one brand:
        //  another brand's credential is as unknown as a missing one.
        const char *brand = qyctl_arg (2), *name = qyctl_arg (3);
        if (!brand || !name || qyctl_arg (4))
            qyctl_usage_error ("these arguments do not go together");
        int64_t id = qyctl_brand_id (brand);
        char bid [24];
        qy_pg_i64 (bid, id);
        const char *p [] = { name, bid };
        PGresult *res = qyctl_exec ("UPDATE gateway_credentials SET enabled = false WHERE name = $1 AND brand_id = $2 "
                                    "RETURNING 1", 2, p);
        if (PQntuples (res) == 0)
            qyctl_die ("no credential named %s in brand %s", name, brand);
        PQclear (res);
        qyctl_audit (id, "gateway.credential.revoke", "gateway_credential", name);
        qyctl_ack ((const char *[]) { "credential", name, "revoked", "true", NULL }, "credential %s revoked", name);
        return 0;
    }
    const char *brand = qyctl_arg (2), *name = qyctl_arg (3);
    char *token = qyctl_secret ("token", "QY_CREDENTIAL_TOKEN"), *secret = qyctl_secret ("hmac", "QY_CREDENTIAL_HMAC");
    if (!op || strcmp (op, "add") != 0 || !brand || !name || (!token == !secret))
        qyctl_usage_error ("these arguments do not go together");
    if ((token && strlen (token) < 16) || (secret && strlen (secret) < 16))
        qyctl_die ("a token or secret must be at least 16 characters");
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, id);
    //  Only the token's SHA-256 is kept; the secret of a signing gateway must
    //  be kept to verify: sealed under the master key when qyctl has it
    //  (else plain, and ingest seals it in place when it has the key).
    char *sealed = secret ? qyctl_seal_gateway_secret (secret) : NULL;
    const char *p [] = { bid, name, token ? "bearer" : "hmac", token, sealed ? NULL : secret, sealed };
    //  Names are unique across brands: adding again replaces the brand's own
    //  credential (a new token, enabled again, no previous one), never another brand's.
    PGresult *res = qyctl_exec ("INSERT INTO gateway_credentials (brand_id, name, kind, token_sha256, secret, secret_sealed) "
                                "VALUES ($1, $2, $3, encode (sha256 (convert_to ($4, 'UTF8')), 'hex'), $5, $6) "
                                "ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, "
                                "  token_sha256 = EXCLUDED.token_sha256, secret = EXCLUDED.secret, "
                                "  secret_sealed = EXCLUDED.secret_sealed, enabled = true, prev_token_sha256 = NULL, "
                                "  prev_secret_sealed = NULL, prev_not_after = NULL "
                                "WHERE gateway_credentials.brand_id = EXCLUDED.brand_id RETURNING 1", 6, p);
    free (sealed);
    if (PQntuples (res) == 0)
        qyctl_die ("credential name %s taken by another brand", name);
    PQclear (res);
    qyctl_audit (id, "gateway.credential.add", "gateway_credential", name);
    qyctl_ack ((const char *[]) { "credential", name, "kind", token ? "bearer" : "hmac", "brand", brand, NULL },
              "credential %s (%s) for %s", name, token ? "bearer" : "hmac", brand);
    free (token);
    free (secret);
    return 0;
}

//  "a,b" → {"a","b"} (PostgreSQL array text), held by list until
//  qy_pg_cols_free.
static const char *s_pg_list (qy_pg_cols_t *list, const char *csv)
{
    qy_pg_cols_init (list, 1);
    char *copy = qy_strdup (csv ? csv : ""), *save = NULL;
    for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save)) {
        qy_pg_cols_row (list);
        qy_pg_cols_text (list, 0, t);
    }
    free (copy);
    return qy_pg_cols_array (list, 0);
}

static int s_alerts (void)
{
    const char *op = qyctl_arg (1), *brand = qyctl_arg (2);
    if (op && brand && strcmp (op, "list") == 0) {
        qyctl_list ("SELECT coalesce (s.code, 'HQ') AS store, r.webhook_url, r.msgtype, r.mentioned_list, r.mentioned_mobile_list "
                    "FROM alert_routes r LEFT JOIN stores s ON s.id = r.store_id AND s.brand_id = r.brand_id "
                    "WHERE r.brand_id = $1 ORDER BY s.code NULLS FIRST", brand);
        return 0;
    }
    const char *url = qyctl_arg (3);
    if (!op || strcmp (op, "set") != 0 || !brand || !url)
        qyctl_usage_error ("these arguments do not go together");
    if (!s_is_url (url))
        qyctl_die ("webhook URL must start with http:// or https://");
    const char *type = qyctl_opt ("msgtype", "markdown");
    if (strcmp (type, "text") != 0 && strcmp (type, "markdown") != 0)
        qyctl_die ("--msgtype is text or markdown");
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, id);
    const char *store = qyctl_opt ("store", NULL);
    qy_pg_cols_t mention_list, mobile_list;
    const char *mentions = s_pg_list (&mention_list, qyctl_opt ("mention", NULL));
    const char *mobiles = s_pg_list (&mobile_list, qyctl_opt ("mobile", NULL));
    if (store) {
        const char *sp [] = { bid, store };
        PGresult *res = qyctl_exec ("SELECT 1 FROM stores WHERE brand_id = $1 AND code = $2", 2, sp);
        if (PQntuples (res) == 0)
            qyctl_die ("unknown store %s of %s", store, brand);
        PQclear (res);
    }
    const char *p [] = { bid, store, url, type, mentions, mobiles };
    PQclear (qyctl_exec ("INSERT INTO alert_routes (brand_id, store_id, webhook_url, msgtype, mentioned_list, mentioned_mobile_list) "
                         "VALUES ($1, (SELECT id FROM stores WHERE brand_id = $1 AND code = $2), $3, $4, $5, $6) "
                         "ON CONFLICT (brand_id, coalesce (store_id, 0)) DO UPDATE SET webhook_url = EXCLUDED.webhook_url, "
                         "  msgtype = EXCLUDED.msgtype, mentioned_list = EXCLUDED.mentioned_list, "
                         "  mentioned_mobile_list = EXCLUDED.mentioned_mobile_list, updated_at = now ()", 6, p));
    qyctl_audit (id, "gateway.alerts.set", "alert_route", store ? store : "HQ");
    qyctl_ack ((const char *[]) { "brand", brand, "store", store ? store : "HQ", "webhook_url", url, NULL },
              "alerts of %s %s: %s", brand, store ? store : "HQ", url);
    qy_pg_cols_free (&mention_list);
    qy_pg_cols_free (&mobile_list);
    return 0;
}

static Qy__Action s_action (const char *s)
{
    if (!s)                         return QY__ACTION__ACTION_NONE;
    if (strcmp (s, "warn") == 0)    return QY__ACTION__WARN;
    if (strcmp (s, "recall") == 0)  return QY__ACTION__RECALL;
    if (strcmp (s, "mute") == 0)    return QY__ACTION__MUTE;
    if (strcmp (s, "remove") == 0)  return QY__ACTION__REMOVE;
    qyctl_die ("unknown action %s (warn, recall, mute, remove)", s);
}

static const char *s_jstr (json_t *o, const char *k)
{
    const char *s = json_string_value (json_object_get (o, k));
    return s ? s : "";
}

//  Push JSON-lines deliveries onto the notifier hop, as moderation, scoring
//  and campaign do: {"key","brand","kind","group","text","mentions",
//  "action","member","reason","source","priority"}.
static int s_push (void)
{
    const char *file = qyctl_arg (1);
    const char *endpoint = qyctl_opt ("endpoint", getenv ("QY_NOTIFIER_ENDPOINT"));
    if (!file || !endpoint)
        qyctl_usage_error ("gateway push needs --endpoint tcp://HOST:PORT (or $QY_NOTIFIER_ENDPOINT)");
    FILE *f = strcmp (file, "-") == 0 ? stdin : fopen (file, "r");
    if (!f)
        qyctl_die ("cannot read %s", file);
    void *ctx = zmq_ctx_new ();
    void *push = qy_zmq_socket (ctx, ZMQ_DEALER, 100000, 10000);
    qyctl_hop_curve (push);
    if (qy_zmq_connect (push, endpoint))
        qyctl_die ("cannot connect to %s", endpoint);
    char *line = NULL;
    size_t cap = 0;
    long n = 0, lineno = 0;
    while (getline (&line, &cap, f) > 0) {
        lineno++;
        json_error_t err;
        json_t *o = json_loads (line, 0, &err);
        if (!o) {
            if (strspn (line, " \t\r\n") == strlen (line))
                continue;
            qyctl_die ("line %ld: %s", lineno, err.text);
        }
        const char *brand = s_jstr (o, "brand"), *group = s_jstr (o, "group"), *kind = s_jstr (o, "kind");
        int64_t bid = qyctl_brand_id (brand), gid = 0;
        if (*group) {
            char b [24];
            qy_pg_i64 (b, bid);
            const char *p [] = { b, group };
            PGresult *res = qyctl_exec ("SELECT id FROM groups WHERE brand_id = $1 AND code = $2", 2, p);
            gid = PQntuples (res) ? atoll (PQgetvalue (res, 0, 0)) : 0;
            PQclear (res);
        }
        Qy__Delivery d = QY__DELIVERY__INIT;
        d.key = (char *) s_jstr (o, "key");
        d.brand = (char *) brand;
        d.brand_id = bid;
        d.group_id = gid;
        d.group = (char *) group;
        d.kind = (char *) kind;
        d.priority = strcmp (kind, "action") == 0 ? QY__PRIORITY__P_ACTION
                   : strcmp (kind, "alert") == 0 ? QY__PRIORITY__P_ALERT : QY__PRIORITY__P_CAMPAIGN;
        if (json_is_integer (json_object_get (o, "priority")))
            d.priority = (Qy__Priority) json_integer_value (json_object_get (o, "priority"));
        d.text = (char *) s_jstr (o, "text");
        d.action = s_action (json_string_value (json_object_get (o, "action")));
        d.member = (char *) s_jstr (o, "member");
        d.reason = (char *) s_jstr (o, "reason");
        d.source = (char *) s_jstr (o, "source");
        d.created_us = qy_now_us ();
        json_t *m = json_object_get (o, "mentions");
        size_t nm = json_array_size (m);
        char **mentions = qy_calloc (nm ? nm : 1, sizeof (char *));
        for (size_t i = 0; i < nm; i++)
            mentions [i] = (char *) (json_string_value (json_array_get (m, i)) ? json_string_value (json_array_get (m, i)) : "");
        d.n_mentions = nm;
        d.mentions = mentions;
        if (!*d.key || !*kind)
            qyctl_die ("line %ld: key and kind are required", lineno);
        if (qy_zmq_send_pb (push, &d.base, 0))
            qyctl_die ("send failed");
        free (mentions);
        json_decref (o);
        n++;
    }
    free (line);
    if (f != stdin)
        fclose (f);
    zmq_close (push);           //  linger flushes what is queued
    zmq_ctx_term (ctx);
    printf ("pushed %ld deliveries\n", n);
    return 0;
}

//  The same key notifier_pause_key() builds: notifier holds every delivery
//  to the URL while it exists, without spending attempts.
static int s_pause (void)
{
    const char *url = qyctl_arg (1), *secs = qyctl_arg (2);
    if (!url || !secs)
        qyctl_usage_error ("these arguments do not go together");
    //  At most 30 days: a longer hold is a mistake, not maintenance.
    long held = qyctl_long ("SECONDS", secs, 1, 30L * 86400);
    const char *host = getenv ("QY_REDIS_HOST"), *port = getenv ("QY_REDIS_PORT");
    qy_redis_t *r = qy_redis_new (host ? host : "127.0.0.1", port ? atoi (port) : 6379);
    char key [64], px [24];
    qy_snprintf (key, sizeof (key), "nt:pause:{d:%016llx}", (unsigned long long) qy_hash64 (url, strlen (url)));
    qy_snprintf (px, sizeof (px), "%ld", held * 1000);
    redisReply *rep = qy_redis_cmd (r, "SET %s 1 PX %s", key, px);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        qyctl_die ("redis: %s", rep ? rep->str : qy_redis_errstr (r));
    freeReplyObject (rep);
    qy_redis_destroy (&r);
    printf ("deliveries to %s held for %ld s\n", url, held);
    return 0;
}

int qyctl_gateway (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0);
    if (!sub)
        qyctl_usage_error ("these arguments do not go together");
    if (strcmp (sub, "set") == 0)        return s_set ();
    if (strcmp (sub, "credential") == 0) return s_credential ();
    if (strcmp (sub, "alerts") == 0)     return s_alerts ();
    if (strcmp (sub, "push") == 0)       return s_push ();
    if (strcmp (sub, "pause") == 0)      return s_pause ();
    qyctl_usage_error ("these arguments do not go together");
}

static const qyctl_option_t s_set_opts [] = {
    { "token-file", QYCTL_VALUE, "FILE", "the gateway's token, on FILE's first line (- : standard input; else $QY_GATEWAY_TOKEN)" },
    { "token", QYCTL_VALUE, "T", "refused: a secret on the command line is seen by every user" },
    { NULL }
};
static const qyctl_option_t s_credential_opts [] = {
    { "token-file", QYCTL_VALUE, "FILE", "a bearer token (16 characters or more; only its SHA-256 is kept), on FILE's first line "
                                         "(- : standard input; else $QY_CREDENTIAL_TOKEN)" },
    { "hmac-file",  QYCTL_VALUE, "FILE", "a signing secret (16 characters or more) the same way (else $QY_CREDENTIAL_HMAC)" },
    { "token", QYCTL_VALUE, "T",      "refused: a secret on the command line is seen by every user" },
    { "hmac",  QYCTL_VALUE, "SECRET", "refused, as --token" },
    { NULL }
};
static const char *const s_msgtypes [] = { "text", "markdown", NULL };
static const qyctl_option_t s_alerts_opts [] = {
    { "store",   QYCTL_VALUE, "CODE", "the store's route (default: HQ's)" },
    { "msgtype", QYCTL_VALUE, "T",    "the robot message type (default markdown)", s_msgtypes },
    { "mention", QYCTL_VALUE, "U,U",  "user ids to @" },
    { "mobile",  QYCTL_VALUE, "M,M",  "mobile numbers to @" },
    { NULL }
};
static const qyctl_option_t s_push_opts [] = {
    { "endpoint", QYCTL_VALUE, "E", "the notifier hop (default $QY_NOTIFIER_ENDPOINT)" },
    { NULL }
};
const qyctl_command_t qyctl_gateway_commands [] = {
    { "gateway set", "BRAND URL", 2, 2, s_set_opts, "where notifier delivers the brand's posts and actions" },
    { "gateway credential add", "BRAND NAME", 2, 2, s_credential_opts, "who may call ingest's HTTP door (--token-file or --hmac-file)" },
    { "gateway credential revoke", "BRAND NAME", 2, 2, NULL, "disable a credential" },
    { "gateway credential list", "BRAND", 1, 1, NULL, "the brand's credentials" },
    { "gateway credential rotate", "BRAND NAME", 2, 2, qyctl_gatecred_rotate_opts, "a new token or secret; the previous one valid for --overlap-hours" },
    { "gateway alerts set", "BRAND URL", 2, 2, s_alerts_opts, "where operator alerts go (a WeCom group robot)" },
    { "gateway alerts list", "BRAND", 1, 1, NULL, "the brand's alert routes" },
    { "gateway push", "FILE|-", 1, 1, s_push_opts, "push JSON-lines deliveries onto the notifier hop" },
    { "gateway pause", "URL SECONDS", 2, 2, NULL, "hold deliveries to a destination (Redis: $QY_REDIS_HOST, $QY_REDIS_PORT)" },
    { NULL }
};
