#include "qy/redis.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct qy_redis_t {
    char         *host;
    int           port;
    redisContext *ctx;
    bool          ok;
    char          errstr [256];
    int64_t       next_try_us;   //  backoff: don't hammer a dead server
    int           backoff_ms;
};

qy_redis_t *qy_redis_new (const char *host, int port)
{
    qy_redis_t *self = qy_calloc (1, sizeof (*self));
    self->host = qy_strdup (host);
    self->port = port;
    self->backoff_ms = 100;
    return self;
}

void qy_redis_destroy (qy_redis_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_redis_t *self = *self_p;
    if (self->ctx)
        redisFree (self->ctx);
    free (self->host);
    free (self);
    *self_p = NULL;
}

bool qy_redis_ok (qy_redis_t *self)
{
    return self->ok;
}

const char *qy_redis_errstr (qy_redis_t *self)
{
    return self->errstr;
}

void qy_redis_disconnect (qy_redis_t *self)
{
    if (self->ctx) {
        redisFree (self->ctx);
        self->ctx = NULL;
    }
}

static void s_fail (qy_redis_t *self, const char *what)
{
    qy_snprintf (self->errstr, sizeof (self->errstr), "%s: %s", what,
                 self->ctx && self->ctx->err ? self->ctx->errstr : "connection failed");
    if (self->ok)
        qy_log_warn ("redis unavailable host=%s port=%d error=\"%s\"", self->host, self->port, self->errstr);
    self->ok = false;
    if (self->ctx) {
        redisFree (self->ctx);
        self->ctx = NULL;
    }
    self->next_try_us = qy_mono_us () + (int64_t) self->backoff_ms * 1000;
    self->backoff_ms = self->backoff_ms * 2 > 5000 ? 5000 : self->backoff_ms * 2;
}

static bool s_connect (qy_redis_t *self)
{
    if (self->ctx)
        return true;
    if (qy_mono_us () < self->next_try_us)
        return false;
    struct timeval tv = { 2, 0 };
    self->ctx = redisConnectWithTimeout (self->host, self->port, tv);
    if (!self->ctx || self->ctx->err) {
        s_fail (self, "connect");
        return false;
    }
    redisSetTimeout (self->ctx, tv);
    if (!self->ok)
        qy_log_info ("redis connected host=%s port=%d", self->host, self->port);
    self->ok = true;
    self->backoff_ms = 100;
    return true;
}

redisReply *qy_redis_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (!s_connect (self))
        return NULL;
    redisReply *r = redisCommandArgv (self->ctx, argc, argv, argvlen);
    if (!r)
        s_fail (self, "command");
    return r;
}

redisReply *qy_redis_cmd (qy_redis_t *self, const char *fmt, ...)
{
    if (!s_connect (self))
        return NULL;
    va_list ap;
    va_start (ap, fmt);
    redisReply *r = redisvCommand (self->ctx, fmt, ap);
    va_end (ap);
    if (!r)
        s_fail (self, "command");
    return r;
}

int qy_redis_append_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (!s_connect (self))
        return -1;
    if (redisAppendCommandArgv (self->ctx, argc, argv, argvlen) != REDIS_OK) {
        s_fail (self, "append");
        return -1;
    }
    return 0;
}

redisReply *qy_redis_get_reply (qy_redis_t *self)
{
    if (!self->ctx)
        return NULL;
    void *r = NULL;
    if (redisGetReply (self->ctx, &r) != REDIS_OK) {
        s_fail (self, "reply");
        return NULL;
    }
    return r;
}

int qy_redis_load_script (qy_redis_t *self, qy_script_t *script)
{
    redisReply *r = qy_redis_cmd (self, "SCRIPT LOAD %s", script->source);
    if (!r)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy (script->sha, r->str, 40);
        script->sha [40] = 0;
        rc = 0;
    }
    else
        qy_log_error ("redis script load failed: %s", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
    freeReplyObject (r);
    return rc;
}

static int s_build (qy_script_t *script, int nkeys, int nargs, const char **args,
                    const size_t *arglens, const char ***argv, size_t **argvlen, char *nk)
{
    *argv = qy_malloc (sizeof (char *) * (size_t) (nargs + 3));
    *argvlen = qy_malloc (sizeof (size_t) * (size_t) (nargs + 3));
    qy_snprintf (nk, 16, "%d", nkeys);
    (*argv) [0] = "EVALSHA"; (*argvlen) [0] = 7;
    (*argv) [1] = script->sha; (*argvlen) [1] = 40;
    (*argv) [2] = nk; (*argvlen) [2] = strlen (nk);
    for (int i = 0; i < nargs; i++) {
        (*argv) [i + 3] = args [i];
        (*argvlen) [i + 3] = arglens ? arglens [i] : strlen (args [i]);
    }
    return nargs + 3;
}

int qy_redis_append_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                            int nargs, const char **args, const size_t *arglens)
{
    if (!script->sha [0] && qy_redis_load_script (self, script))
        return -1;
    const char **argv;
    size_t *argvlen;
    char nk [16];
    int argc = s_build (script, nkeys, nargs, args, arglens, &argv, &argvlen, nk);
    int rc = qy_redis_append_argv (self, argc, argv, argvlen);
    free (argv);
    free (argvlen);
    return rc;
}

redisReply *qy_redis_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                             int nargs, const char **args, const size_t *arglens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!script->sha [0] && qy_redis_load_script (self, script))
            return NULL;
        const char **argv;
        size_t *argvlen;
        char nk [16];
        int argc = s_build (script, nkeys, nargs, args, arglens, &argv, &argvlen, nk);
        redisReply *r = qy_redis_argv (self, argc, argv, argvlen);
        free (argv);
        free (argvlen);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject (r);
            script->sha [0] = 0;      //  Redis restarted and lost its scripts
            continue;
        }
        return r;
    }
    return NULL;
}
