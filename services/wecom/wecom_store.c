//  Per-brand settings (table wecom_brands, secrets sealed: common/src/qy_seal.c)
//  and the per-thread context.
#include "wecom.h"
#include "qy/log.h"
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

wecom_ctx_t *wecom_ctx_new (const wecom_env_t *env, const char *pg_dsn, const char *redis_host, int redis_port)
{
    wecom_ctx_t *self = qy_calloc (1, sizeof (*self));
    self->env = env;
    self->pg = qy_pg_new (pg_dsn);
    self->redis = qy_redis_new (redis_host, redis_port);
    self->api = wecom_api_new (env->api_base, self->redis, (int) env->api_timeout_ms, (int) env->api_pause_ms);
    return self;
}

void wecom_ctx_destroy (wecom_ctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wecom_ctx_t *self = *self_p;
    wecom_api_destroy (&self->api);
    qy_redis_destroy (&self->redis);
    qy_pg_destroy (&self->pg);
    free (self);
    *self_p = NULL;
}

static void s_free_secret (char *s)
{
    if (s) {
        OPENSSL_cleanse (s, strlen (s));
        free (s);
    }
}

void wecom_brand_destroy (wecom_brand_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wecom_brand_t *b = *self_p;
    free (b->code);
    free (b->corp_id);
    s_free_secret (b->token);
    s_free_secret (b->aes_key);
    s_free_secret (b->secret);
    s_free_secret (b->contact_secret);
    s_free_secret (b->archive_key);
    s_free_secret (b->archive_secret);
    s_free_secret (b->ingest_token);
    s_free_secret (b->gateway_token);
    free (b);
    *self_p = NULL;
}

const char *wecom_brand_contact_secret (const wecom_brand_t *b)
{
    return b->contact_secret ? b->contact_secret : b->secret;
}

wecom_brand_t *wecom_brand_load (qy_pg_t *pg, const unsigned char mk [32], const char *code, int64_t id)
{
    char idbuf [24];
    qy_snprintf (idbuf, sizeof (idbuf), "%lld", (long long) id);
    const char *p [] = { code ? code : "", idbuf };
    PGresult *res = NULL;
    if (!qy_pg_run (pg, "wecom brand",
                    "SELECT b.id, b.code, w.corp_id, w.agent_id, w.token_sealed, w.aes_key_sealed, w.secret_sealed, "
                    "  w.contact_secret_sealed, w.archive_key_sealed, w.archive_secret_sealed, w.ingest_token_sealed, "
                    "  coalesce (e.capability, 'gateway') = 'official', coalesce (b.gateway_token, '') "
                    "FROM wecom_brands w JOIN brands b ON b.id = w.brand_id LEFT JOIN brand_edges e ON e.brand_id = b.id "
                    "WHERE CASE WHEN $1 <> '' THEN b.code = $1 ELSE b.id = $2::bigint END", 2, p, &res))
        return NULL;
    if (PQntuples (res) != 1) {
        PQclear (res);
        return NULL;
    }
    wecom_brand_t *b = qy_calloc (1, sizeof (*b));
    b->brand_id = qy_pg_int (res, 0, 0);
    b->code = qy_strdup (PQgetvalue (res, 0, 1));
    b->corp_id = qy_strdup (PQgetvalue (res, 0, 2));
    b->agent_id = (long) qy_pg_int (res, 0, 3);
    char **slots [] = { &b->token, &b->aes_key, &b->secret, &b->contact_secret, &b->archive_key,
                        &b->archive_secret, &b->ingest_token };
    bool bad = false;
    for (int i = 0; i < 7; i++) {
        if (PQgetisnull (res, 0, 4 + i))
            continue;
        *slots [i] = qy_unseal (mk, PQgetvalue (res, 0, 4 + i));
        bad |= !*slots [i];
    }
    b->official = strcmp (PQgetvalue (res, 0, 11), "t") == 0;
    b->gateway_token = qy_strdup (PQgetvalue (res, 0, 12));
    PQclear (res);
    if (bad || !b->token || !b->aes_key || !b->secret || !b->ingest_token) {
        //  Never the secrets themselves: only that they do not open.
        qy_log_error ("wecom secrets do not unseal brand=%s (another master key?)", b->code);
        wecom_brand_destroy (&b);
    }
    return b;
}
