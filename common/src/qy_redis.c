#include "qy/redis.h"
#include "qy_redis_cluster.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
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
    uint64_t      conn;          //  this connection's number (scripts loaded on it)
    //  Replies owed by the server, in order: true for our own SCRIPT LOADs,
    //  which qy_redis_get_reply reads and drops for the caller.
    bool         *owed;
    size_t        head, nowed, cap;
    //  Told at first connect: a server answering CLUSTER SLOTS with a map
    //  is a Redis Cluster, and every call goes to the cluster mode.
    bool          mode_known;
    qy_cluster_t *cluster;
    int           wait_ms;       //  qy_redis_set_wait
    char         *resp;          //  a command formatted for the pipeline (s_append), kept for the next
    size_t        resp_cap;
};

//  Connections of the process, numbered so a script knows whether the
//  connection it was loaded on is the one in use (a restart loses scripts).
static _Atomic uint64_t s_connections;

static void s_owe (qy_redis_t *self, bool internal)
{
    qy_redis_ring_grow ((void **) &self->owed, sizeof (bool), &self->head, self->nowed, &self->cap);
    self->owed [(self->head + self->nowed++) % self->cap] = internal;
}

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
    qy_cluster_destroy (&self->cluster);
    free (self->resp);
    free (self->owed);
    free (self->host);
    free (self);
    *self_p = NULL;
}

bool qy_redis_ok (qy_redis_t *self)
{
    return self->cluster ? qy_cluster_ok (self->cluster) : self->ok;
}

const char *qy_redis_errstr (qy_redis_t *self)
{
    return self->cluster ? qy_cluster_errstr (self->cluster) : self->errstr;
}

void qy_redis_disconnect (qy_redis_t *self)
{
    if (self->cluster)
        qy_cluster_disconnect (self->cluster);
    if (self->ctx) {
        redisFree (self->ctx);
        self->ctx = NULL;
    }
    self->nowed = self->head = 0;      //  those replies went with the connection
}

size_t qy_redis_unread (const qy_redis_t *self)
{
    return self->cluster ? qy_cluster_unread (self->cluster) : self->nowed;
}

//  A command outside the pipeline while pipelined replies are unread would
//  take one of theirs for its own: the pipeline is dropped with its connection.
static void s_no_interleave (qy_redis_t *self)
{
    if (self->cluster)
        qy_cluster_drop_pipeline (self->cluster);
    if (!self->nowed)
        return;
    qy_log_warn ("redis pipeline dropped with its connection: %zu replies unread", self->nowed);
    qy_redis_disconnect (self);
}

static void s_fail (qy_redis_t *self, const char *what)
{
    qy_snprintf (self->errstr, sizeof (self->errstr), "%s: %s", what,
                 self->ctx && self->ctx->err ? self->ctx->errstr : "connection failed");
    if (self->ok)
        qy_log_warn ("redis unavailable host=%s port=%d error=%s", self->host, self->port, self->errstr);
    self->ok = false;
    qy_redis_disconnect (self);
    self->next_try_us = qy_mono_us () + (int64_t) self->backoff_ms * 1000;
    self->backoff_ms = self->backoff_ms * 2 > 5000 ? 5000 : self->backoff_ms * 2;
}

//  Ask the server just connected whether it is a cluster (once per
//  process). Returns true when it is not usable as a single Redis: a
//  cluster (self->cluster is set and the seed connection closed) or a
//  failure.
static bool s_detect (qy_redis_t *self)
{
    redisReply *r = redisCommand (self->ctx, "CLUSTER SLOTS");
    if (!r) {
        s_fail (self, "cluster slots");
        return true;
    }
    self->mode_known = true;
    //  An error ("cluster support disabled"): a single Redis, used as before.
    if (r->type == REDIS_REPLY_ARRAY) {
        self->cluster = qy_cluster_new (self->host, self->port, r);
        qy_cluster_set_wait (self->cluster, self->wait_ms);
        redisFree (self->ctx);
        self->ctx = NULL;
    }
    freeReplyObject (r);
    return self->cluster != NULL;
}

static bool s_connect (qy_redis_t *self);

//  True when calls go to the cluster mode (known at the first connect).
static bool s_cluster (qy_redis_t *self)
{
    if (!self->mode_known)
        s_connect (self);
    return self->cluster != NULL;
}

bool qy_redis_is_cluster (qy_redis_t *self)
{
    return s_cluster (self);
}

void qy_redis_set_wait (qy_redis_t *self, int wait_ms)
{
    self->wait_ms = wait_ms;
    if (self->cluster)
        qy_cluster_set_wait (self->cluster, wait_ms);
}

int64_t qy_redis_unreplicated (const qy_redis_t *self)
{
    return self->cluster ? qy_cluster_unreplicated (self->cluster) : 0;
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
    if (!self->mode_known && s_detect (self))
        return false;
    self->conn = ++s_connections;
    if (!self->ok)
        qy_log_info ("redis connected host=%s port=%d", self->host, self->port);
    self->ok = true;
    self->backoff_ms = 100;
    return true;
}

//  RESP, formatted here rather than by redisFormatCommandArgv, which
//  writes each word's "$len" with its own printf (sdscatfmt) into a
//  string grown as it goes: a third of scoring's CPU in the pipeline
//  (perf), whose transactions send some 25 commands per event.
static size_t s_digits (size_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static size_t s_resp_len (int argc, const char **argv, const size_t *argvlen)
{
    size_t total = 1 + s_digits ((size_t) argc) + 2;
    for (int j = 0; j < argc; j++) {
        size_t len = argvlen ? argvlen [j] : strlen (argv [j]);
        total += 1 + s_digits (len) + 2 + len + 2;
    }
    return total;
}

//  Write mark, v in decimal and CRLF at p; returns the end.
static char *s_resp_head (char *p, char mark, size_t v)
{
    char tmp [24];
    size_t n = 0;
    do
        tmp [n++] = (char) ('0' + v % 10);
    while ((v /= 10));
    *p++ = mark;
    while (n)
        *p++ = tmp [--n];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

//  Format argv into out (room for s_resp_len bytes and a NUL).
static void s_resp_write (char *out, int argc, const char **argv, const size_t *argvlen)
{
    char *p = s_resp_head (out, '*', (size_t) argc);
    for (int j = 0; j < argc; j++) {
        size_t len = argvlen ? argvlen [j] : strlen (argv [j]);
        p = s_resp_head (p, '$', len);
        memcpy (p, argv [j], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
}

//  The words' lengths, measured once when the caller gave none (into
//  room for S_LENS, else measured as they are written).
#define S_LENS 64
#define S_KEEP 65536
static const size_t *s_lens (int argc, const char **argv, const size_t *argvlen, size_t *room)
{
    if (argvlen || argc > S_LENS)
        return argvlen;
    for (int j = 0; j < argc; j++)
        room [j] = strlen (argv [j]);
    return room;
}

char *qy_redis_format (int argc, const char **argv, const size_t *argvlen, size_t *len)
{
    size_t room [S_LENS];
    argvlen = s_lens (argc, argv, argvlen, room);
    *len = s_resp_len (argc, argv, argvlen);
    char *cmd = qy_malloc (*len + 1);
    s_resp_write (cmd, argc, argv, argvlen);
    return cmd;
}

//  Format once to RESP: the cluster mode reads the key from these bytes
//  and keeps them to re-send on a redirect (freed with redisFreeCommand).
static char *s_format_argv (int argc, const char **argv, const size_t *argvlen, size_t *len)
{
    return qy_redis_format (argc, argv, argvlen, len);
}

redisReply *qy_redis_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (s_cluster (self)) {
        size_t len;
        char *cmd = s_format_argv (argc, argv, argvlen, &len);
        return cmd ? qy_cluster_command (self->cluster, cmd, len) : NULL;
    }
    s_no_interleave (self);
    if (!s_connect (self))
        return NULL;
    redisReply *r = redisCommandArgv (self->ctx, argc, argv, argvlen);
    if (!r)
        s_fail (self, "command");
    return r;
}

redisReply *qy_redis_cmd (qy_redis_t *self, const char *fmt, ...)
{
    va_list ap;
    if (s_cluster (self)) {
        char *cmd;
        va_start (ap, fmt);
        int len = redisvFormatCommand (&cmd, fmt, ap);
        va_end (ap);
        return len > 0 ? qy_cluster_command (self->cluster, cmd, (size_t) len) : NULL;
    }
    s_no_interleave (self);
    if (!s_connect (self))
        return NULL;
    va_start (ap, fmt);
    redisReply *r = redisvCommand (self->ctx, fmt, ap);
    va_end (ap);
    if (!r)
        s_fail (self, "command");
    return r;
}

static int s_append (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen, bool internal)
{
    if (!s_connect (self))
        return -1;
    size_t room [S_LENS];
    argvlen = s_lens (argc, argv, argvlen, room);
    size_t len = s_resp_len (argc, argv, argvlen);
    //  Room kept for commands up to S_KEEP bytes; a larger one (a bulk
    //  write) is formatted apart, so its size does not stay with the connection.
    char *resp = self->resp;
    if (len + 1 > S_KEEP)
        resp = qy_malloc (len + 1);
    else if (len + 1 > self->resp_cap) {
        self->resp_cap = S_KEEP;
        resp = self->resp = qy_realloc (self->resp, self->resp_cap);
    }
    s_resp_write (resp, argc, argv, argvlen);
    int rc = redisAppendFormattedCommand (self->ctx, resp, len);
    if (resp != self->resp)
        free (resp);
    if (rc != REDIS_OK) {
        s_fail (self, "append");
        return -1;
    }
    s_owe (self, internal);
    return 0;
}

int qy_redis_append_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (s_cluster (self)) {
        size_t len;
        char *cmd = s_format_argv (argc, argv, argvlen, &len);
        return cmd ? qy_cluster_append (self->cluster, cmd, len) : -1;
    }
    return s_append (self, argc, argv, argvlen, false);
}

int qy_redis_append_keyed (qy_redis_t *self, const char *key, int argc, const char **argv, const size_t *argvlen)
{
    if (s_cluster (self)) {
        size_t len;
        char *cmd = s_format_argv (argc, argv, argvlen, &len);
        return cmd ? qy_cluster_append_keyed (self->cluster, key, strlen (key), cmd, len) : -1;
    }
    return s_append (self, argc, argv, argvlen, false);
}

redisReply *qy_redis_get_reply (qy_redis_t *self)
{
    if (self->cluster)
        return qy_cluster_get_reply (self->cluster);
    //  Nothing owed (never appended, or the connection and its pipeline
    //  were dropped): no reply will come, so none is waited for.
    while (self->ctx && self->nowed) {
        void *r = NULL;
        if (redisGetReply (self->ctx, &r) != REDIS_OK) {
            s_fail (self, "reply");
            return NULL;
        }
        bool internal = self->owed [self->head];
        self->head = (self->head + 1) % self->cap;
        self->nowed--;
        if (!internal)
            return r;
        qy_redis_sha_reply (NULL, r);
    }
    return NULL;
}

int qy_redis_sha_reply (qy_script_t *script, redisReply *r)
{
    int rc = -1;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        if (script) {
            memcpy (script->sha, r->str, 40);
            script->sha [40] = 0;
        }
        rc = 0;
    }
    else
        qy_log_error ("redis script load failed: %s", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
    freeReplyObject (r);
    return rc;
}

int qy_redis_load_script (qy_redis_t *self, qy_script_t *script)
{
    if (s_cluster (self))
        return qy_cluster_load_script (self->cluster, script);
    redisReply *r = qy_redis_cmd (self, "SCRIPT LOAD %s", script->source);
    return r ? qy_redis_sha_reply (script, r) : -1;
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

//  Make sure script is loaded on this connection before its EVALSHA is
//  appended (a restarted Redis has lost it). With nothing unread it is
//  loaded now; with replies unread its SCRIPT LOAD goes into the pipeline,
//  ahead of the EVALSHA, and its reply is read and dropped by
//  qy_redis_get_reply. Returns 0, 1 when the SHA is not known yet and the
//  pipeline is busy (the caller sends EVAL with the source), or -1.
static int s_ready (qy_redis_t *self, qy_script_t *script, int nkeys, const char **args, const size_t *arglens)
{
    if (s_cluster (self))
        return qy_cluster_script_ready (self->cluster, script, nkeys > 0 ? args [0] : NULL,
                                        nkeys > 0 ? (arglens ? arglens [0] : strlen (args [0])) : 0);
    if (!s_connect (self))
        return -1;
    if (script->sha [0] && script->conn == self->conn)
        return 0;
    if (!self->nowed) {
        if (qy_redis_load_script (self, script))
            return -1;
    }
    else
    if (!script->sha [0])
        return 1;
    else {
        const char *argv [] = { "SCRIPT", "LOAD", script->source };
        if (s_append (self, 3, argv, NULL, true))
            return -1;
    }
    script->conn = self->conn;
    return 0;
}

int qy_redis_append_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                            int nargs, const char **args, const size_t *arglens)
{
    int ready = s_ready (self, script, nkeys, args, arglens);
    if (ready < 0)
        return -1;
    const char **argv;
    size_t *argvlen;
    char nk [16];
    int argc = s_build (script, nkeys, nargs, args, arglens, &argv, &argvlen, nk);
    if (ready == 1) {
        argv [0] = "EVAL"; argvlen [0] = 4;
        argv [1] = script->source; argvlen [1] = strlen (script->source);
    }
    int rc = qy_redis_append_argv (self, argc, argv, argvlen);
    free (argv);
    free (argvlen);
    return rc;
}

redisReply *qy_redis_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                             int nargs, const char **args, const size_t *arglens)
{
    s_no_interleave (self);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s_ready (self, script, nkeys, args, arglens))
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
