#include "qy_redis_cluster.h"
#include "qy/log.h"
#include "qy/redis_slot.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  Redirects followed for one command before it is given up (a slot
//  moving while we follow it; more than this is a cluster in flux).
#define S_MAX_REDIRECTS 5
//  A stale slot map is asked for again at most this often.
#define S_REFRESH_US 100000

typedef struct {
    char          *host;
    int            port;
    redisContext  *ctx;
    bool           ok;
    bool           master;      //  serves slots in the current map
    int            replicas;    //  its replicas in the current map
    int64_t        next_try_us; //  backoff per node
    int            backoff_ms;
    size_t         wire;        //  pipelined replies not read off the connection yet
    //  Replies read early (to free the connection for a redirect), handed
    //  out later in their turn.
    redisReply   **early;
    size_t         early_head, nearly, early_cap;
    //  Scripts loaded on this connection (lost when it is).
    const qy_script_t **scripts;
    size_t         nscripts, scripts_cap;
} s_node_t;

//  A reply owed by the pipeline: the node it comes from, whether it is our
//  own SCRIPT LOAD, and the command's bytes to re-send on a redirect.
typedef struct {
    int     node;
    bool    internal;
    bool    raw;        //  a transaction's: a redirect is answered, not followed
    bool    wait;       //  our WAIT after a transaction's EXEC (qy_cluster_set_wait)
    char   *cmd;
    size_t  len;
} s_owed_t;

struct qy_cluster_t {
    s_node_t  *nodes;           //  never removed: indexes stay valid
    size_t     nnodes, nodes_cap;
    uint16_t  *slots;           //  slot -> node index + 1 (0: none)
    bool       stale;
    int64_t    refreshed_us;
    bool       ok;
    char       errstr [256];
    s_owed_t  *owed;            //  FIFO in append order
    size_t     head, nowed, owed_cap;
    int        wait_ms;         //  > 0: an EXEC's reply waits for a replica (qy_cluster_set_wait)
    int64_t    unreplicated;    //  EXECs no replica acknowledged in time
};

void qy_redis_ring_grow (void **buf, size_t size, size_t *head, size_t n, size_t *cap)
{
    if (n < *cap)
        return;
    size_t grown = *cap ? *cap * 2 : 64;
    char *to = qy_calloc (grown, size);
    for (size_t i = 0; i < n; i++)
        memcpy (to + i * size, (char *) *buf + ((*head + i) % *cap) * size, size);
    free (*buf);
    *buf = to;
    *cap = grown;
    *head = 0;
}

static int s_node (qy_cluster_t *self, const char *host, int port)
{
    for (size_t i = 0; i < self->nnodes; i++)
        if (self->nodes [i].port == port && strcmp (self->nodes [i].host, host) == 0)
            return (int) i;
    if (self->nnodes == self->nodes_cap) {
        self->nodes_cap = self->nodes_cap ? self->nodes_cap * 2 : 8;
        self->nodes = qy_realloc (self->nodes, self->nodes_cap * sizeof (s_node_t));
    }
    s_node_t *n = &self->nodes [self->nnodes];
    memset (n, 0, sizeof (*n));
    n->host = qy_strdup (host);
    n->port = port;
    n->backoff_ms = 100;
    return (int) self->nnodes++;
}

static void s_node_close (s_node_t *n)
{
    if (n->ctx)
        redisFree (n->ctx);
    n->ctx = NULL;
    n->wire = 0;
    for (size_t i = 0; i < n->nearly; i++)
        freeReplyObject (n->early [(n->early_head + i) % n->early_cap]);
    n->nearly = n->early_head = 0;
    n->nscripts = 0;
}

//  The whole pipeline goes, with every connection that owed it a reply:
//  a reply is never taken for another command's.
void qy_cluster_drop_pipeline (qy_cluster_t *self)
{
    if (!self->nowed)
        return;
    qy_log_warn ("redis pipeline dropped with its connections: %zu replies unread", self->nowed);
    for (size_t i = 0; i < self->nowed; i++) {
        s_owed_t *o = &self->owed [(self->head + i) % self->owed_cap];
        s_node_close (&self->nodes [o->node]);
        redisFreeCommand (o->cmd);
    }
    self->nowed = self->head = 0;
}

static void s_fail (qy_cluster_t *self, int idx, const char *what)
{
    s_node_t *n = &self->nodes [idx];
    qy_snprintf (self->errstr, sizeof (self->errstr), "%s: %s (%s:%d)", what,
                 n->ctx && n->ctx->err ? n->ctx->errstr : "connection failed", n->host, n->port);
    if (n->ok)
        qy_log_warn ("redis unavailable host=%s port=%d error=%s", n->host, n->port, self->errstr);
    n->ok = false;
    self->ok = false;
    self->stale = true;           //  a failover may have moved its slots
    if (n->wire || n->nearly)
        qy_cluster_drop_pipeline (self);   //  its replies are lost: so is the pipeline
    s_node_close (n);
    n->next_try_us = qy_mono_us () + (int64_t) n->backoff_ms * 1000;
    n->backoff_ms = n->backoff_ms * 2 > 5000 ? 5000 : n->backoff_ms * 2;
}

static bool s_connect (qy_cluster_t *self, int idx)
{
    s_node_t *n = &self->nodes [idx];
    if (n->ctx)
        return true;
    if (qy_mono_us () < n->next_try_us) {
        qy_snprintf (self->errstr, sizeof (self->errstr), "connect: backing off (%s:%d)", n->host, n->port);
        self->ok = false;
        return false;
    }
    struct timeval tv = { 2, 0 };
    n->ctx = redisConnectWithTimeout (n->host, n->port, tv);
    if (!n->ctx || n->ctx->err) {
        s_fail (self, idx, "connect");
        return false;
    }
    redisSetTimeout (n->ctx, tv);
    if (!n->ok)
        qy_log_info ("redis connected host=%s port=%d cluster=1", n->host, n->port);
    n->ok = true;
    n->backoff_ms = 100;
    return true;
}

//  Replace the slot map by a CLUSTER SLOTS reply from node idx.
static int s_apply (qy_cluster_t *self, int idx, const redisReply *r)
{
    qy_slot_range_t *ranges;
    int nr = qy_redis_slots_parse (r, &ranges);
    if (nr < 0)
        return -1;
    memset (self->slots, 0, QY_REDIS_SLOTS * sizeof (uint16_t));
    for (size_t i = 0; i < self->nnodes; i++) {
        self->nodes [i].master = false;
        self->nodes [i].replicas = 0;
    }
    for (int i = 0; i < nr; i++) {
        //  No endpoint given: the node that answered.
        char *host = qy_strdup (ranges [i].host [0] ? ranges [i].host : self->nodes [idx].host);
        int m = s_node (self, host, ranges [i].port);
        free (host);
        self->nodes [m].master = true;
        self->nodes [m].replicas = ranges [i].replicas;
        for (int s = ranges [i].start; s <= ranges [i].end; s++)
            self->slots [s] = (uint16_t) (m + 1);
    }
    free (ranges);
    self->stale = false;
    return 0;
}

//  Ask any reachable node for the slot map, when the map is stale (a node
//  failed, or a MOVED). Nodes with pipelined replies owed are not asked.
static void s_refresh (qy_cluster_t *self)
{
    int64_t now = qy_mono_us ();
    if (!self->stale || now - self->refreshed_us < S_REFRESH_US)
        return;
    self->refreshed_us = now;
    for (size_t i = 0; i < self->nnodes; i++) {
        s_node_t *n = &self->nodes [i];
        if (n->wire || n->nearly || !s_connect (self, (int) i))
            continue;
        redisReply *r = redisCommand (n->ctx, "CLUSTER SLOTS");
        if (!r) {
            s_fail (self, (int) i, "cluster slots");
            continue;
        }
        int rc = s_apply (self, (int) i, r);
        freeReplyObject (r);
        if (rc == 0)
            return;
    }
}

//  The node serving slot (-1: a command without a key, any master).
static int s_route (qy_cluster_t *self, int slot)
{
    s_refresh (self);
    if (slot >= 0) {
        if (self->slots [slot])
            return self->slots [slot] - 1;
        qy_snprintf (self->errstr, sizeof (self->errstr), "no redis node serves slot %d", slot);
        self->ok = false;
        self->stale = true;
        return -1;
    }
    int any = -1;
    for (size_t i = 0; i < self->nnodes; i++)
        if (self->nodes [i].master) {
            if (self->nodes [i].ctx)
                return (int) i;
            if (any < 0)
                any = (int) i;
        }
    if (any < 0) {
        qy_snprintf (self->errstr, sizeof (self->errstr), "no redis node serves any slot");
        self->ok = false;
        self->stale = true;
    }
    return any;
}

static void s_push_early (s_node_t *n, redisReply *r)
{
    qy_redis_ring_grow ((void **) &n->early, sizeof (redisReply *), &n->early_head, n->nearly, &n->early_cap);
    n->early [(n->early_head + n->nearly++) % n->early_cap] = r;
}

//  The next reply node idx owes: one read early, else off the connection.
static redisReply *s_take (qy_cluster_t *self, int idx)
{
    s_node_t *n = &self->nodes [idx];
    if (n->nearly) {
        redisReply *r = n->early [n->early_head];
        n->early_head = (n->early_head + 1) % n->early_cap;
        n->nearly--;
        return r;
    }
    void *r = NULL;
    if (!n->ctx || !n->wire || redisGetReply (n->ctx, &r) != REDIS_OK) {
        s_fail (self, idx, "reply");
        return NULL;
    }
    n->wire--;
    self->ok = true;
    return r;
}

//  Send cmd on node idx and wait for its reply, after reading what the
//  node still owes the pipeline into its early queue. With asking, the
//  command is preceded by ASKING (an ASK redirect). NULL when it failed.
static redisReply *s_send (qy_cluster_t *self, int idx, const char *cmd, size_t len, bool asking)
{
    if (!s_connect (self, idx))
        return NULL;
    s_node_t *n = &self->nodes [idx];
    while (n->wire) {
        void *r = NULL;
        if (redisGetReply (n->ctx, &r) != REDIS_OK) {
            s_fail (self, idx, "reply");
            return NULL;
        }
        n->wire--;
        s_push_early (n, r);
    }
    static const char s_asking [] = "*1\r\n$6\r\nASKING\r\n";
    void *r = NULL;
    if ((asking && redisAppendFormattedCommand (n->ctx, s_asking, sizeof (s_asking) - 1) != REDIS_OK)
     || redisAppendFormattedCommand (n->ctx, cmd, len) != REDIS_OK
     || (asking && redisGetReply (n->ctx, &r) != REDIS_OK)) {
        s_fail (self, idx, "command");
        return NULL;
    }
    if (r)
        freeReplyObject (r);
    r = NULL;
    if (redisGetReply (n->ctx, &r) != REDIS_OK) {
        s_fail (self, idx, "command");
        return NULL;
    }
    self->ok = true;
    return r;
}

static bool s_error_is (const redisReply *r, const char *prefix)
{
    size_t n = strlen (prefix);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp (r->str, prefix, n) == 0;
}

//  Follow MOVED and ASK redirects of reply r (from node idx) for cmd.
//  CLUSTERDOWN (a failover under way) is "Redis away": NULL, and callers
//  hold and retry as they do when a single Redis is away.
static redisReply *s_follow (qy_cluster_t *self, int idx, redisReply *r, const char *cmd, size_t len)
{
    if (!r)
        return NULL;
    for (int hop = 0; hop <= S_MAX_REDIRECTS; hop++) {
        if (s_error_is (r, "CLUSTERDOWN") || s_error_is (r, "TRYAGAIN")) {
            qy_snprintf (self->errstr, sizeof (self->errstr), "%.*s", (int) r->len, r->str);
            freeReplyObject (r);
            self->ok = false;
            self->stale = true;
            return NULL;
        }
        qy_redirect_t to;
        if (r->type != REDIS_REPLY_ERROR || qy_redis_redirect_parse (r->str, r->len, &to) == QY_REDIRECT_NONE)
            return r;
        freeReplyObject (r);
        if (hop == S_MAX_REDIRECTS)
            break;
        char *host = qy_strdup (to.host [0] ? to.host : self->nodes [idx].host);
        int target = s_node (self, host, to.port);
        free (host);
        if (to.kind == QY_REDIRECT_MOVED) {
            self->slots [to.slot] = (uint16_t) (target + 1);
            self->stale = true;       //  more slots may have moved with it
        }
        idx = target;
        r = s_send (self, idx, cmd, len, to.kind == QY_REDIRECT_ASK);
        if (!r)
            return NULL;
    }
    qy_snprintf (self->errstr, sizeof (self->errstr), "too many redirects");
    self->ok = false;
    return NULL;
}

qy_cluster_t *qy_cluster_new (const char *host, int port, const redisReply *slots)
{
    qy_cluster_t *self = qy_calloc (1, sizeof (*self));
    self->slots = qy_calloc (QY_REDIS_SLOTS, sizeof (uint16_t));
    self->ok = true;
    int seed = s_node (self, host, port);
    if (s_apply (self, seed, slots))
        self->stale = true;
    qy_log_info ("redis cluster mode host=%s port=%d nodes=%zu", host, port, self->nnodes);
    return self;
}

void qy_cluster_destroy (qy_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_cluster_t *self = *self_p;
    qy_cluster_disconnect (self);
    for (size_t i = 0; i < self->nnodes; i++) {
        free (self->nodes [i].host);
        free (self->nodes [i].early);
        free (self->nodes [i].scripts);
    }
    free (self->nodes);
    free (self->slots);
    free (self->owed);
    free (self);
    *self_p = NULL;
}

bool qy_cluster_ok (const qy_cluster_t *self)
{
    return self->ok;
}

const char *qy_cluster_errstr (const qy_cluster_t *self)
{
    return self->errstr;
}

void qy_cluster_disconnect (qy_cluster_t *self)
{
    for (size_t i = 0; i < self->nowed; i++)
        redisFreeCommand (self->owed [(self->head + i) % self->owed_cap].cmd);
    self->nowed = self->head = 0;
    for (size_t i = 0; i < self->nnodes; i++)
        s_node_close (&self->nodes [i]);
}

size_t qy_cluster_unread (const qy_cluster_t *self)
{
    return self->nowed;
}

redisReply *qy_cluster_command (qy_cluster_t *self, char *cmd, size_t len)
{
    qy_cluster_drop_pipeline (self);       //  never interleaved with unread replies
    int idx = s_route (self, qy_redis_cmd_slot (cmd, len));
    redisReply *r = idx < 0 ? NULL : s_follow (self, idx, s_send (self, idx, cmd, len, false), cmd, len);
    redisFreeCommand (cmd);
    return r;
}

static int s_append_to (qy_cluster_t *self, int idx, char *cmd, size_t len, bool internal)
{
    if (idx < 0 || !s_connect (self, idx)) {
        qy_cluster_drop_pipeline (self);
        redisFreeCommand (cmd);
        return -1;
    }
    s_node_t *n = &self->nodes [idx];
    if (redisAppendFormattedCommand (n->ctx, cmd, len) != REDIS_OK) {
        s_fail (self, idx, "append");
        redisFreeCommand (cmd);
        return -1;
    }
    n->wire++;
    qy_redis_ring_grow ((void **) &self->owed, sizeof (s_owed_t), &self->head, self->nowed, &self->owed_cap);
    self->owed [(self->head + self->nowed++) % self->owed_cap] = (s_owed_t) { idx, internal, false, false, cmd, len };
    return 0;
}

int qy_cluster_append (qy_cluster_t *self, char *cmd, size_t len)
{
    return s_append_to (self, s_route (self, qy_redis_cmd_slot (cmd, len)), cmd, len, false);
}

void qy_cluster_set_wait (qy_cluster_t *self, int wait_ms)
{
    //  Below the connections' 2 s read timeout, which would cut the wait short.
    self->wait_ms = wait_ms <= 0 ? 0 : wait_ms > 1500 ? 1500 : wait_ms;
}

int64_t qy_cluster_unreplicated (const qy_cluster_t *self)
{
    return self->unreplicated;
}

//  After a transaction's EXEC, on a node with replicas: WAIT for one of
//  them, so that the EXEC's reply is handed out only once its writes are
//  on a replica (or wait_ms ran out). Replication is asynchronous: a master
//  killed before its replica has a write loses it on failover, and the
//  caller, told it was written, has already let its events go.
static int s_append_wait (qy_cluster_t *self, int idx)
{
    if (!self->wait_ms || self->nodes [idx].replicas < 1)
        return 0;
    char *wait;
    int wlen = redisFormatCommand (&wait, "WAIT 1 %d", self->wait_ms);
    if (wlen < 0 || s_append_to (self, idx, wait, (size_t) wlen, true))
        return -1;
    s_owed_t *o = &self->owed [(self->head + self->nowed - 1) % self->owed_cap];
    o->raw = o->wait = true;
    return 0;
}

int qy_cluster_append_keyed (qy_cluster_t *self, const char *key, size_t keylen, char *cmd, size_t len)
{
    static const char exec [] = "*1\r\n$4\r\nEXEC\r\n";
    bool is_exec = len == sizeof (exec) - 1 && memcmp (cmd, exec, len) == 0;
    int idx = s_route (self, qy_redis_keyslot (key, keylen));
    if (s_append_to (self, idx, cmd, len, false))
        return -1;
    self->owed [(self->head + self->nowed - 1) % self->owed_cap].raw = true;
    return is_exec ? s_append_wait (self, idx) : 0;
}

//  The reply of our WAIT, which follows an EXEC's. Unless a replica has
//  the writes, the EXEC's reply is none (Redis away, the pipeline dropped):
//  the caller runs the transaction again, which waits again. So a replica
//  that lags holds the writes back, and one that failed stops doing so
//  once the cluster flags it (the map is asked for again: a failed replica
//  is not in it).
static redisReply *s_waited (qy_cluster_t *self, redisReply *exec)
{
    s_owed_t o = self->owed [self->head];
    redisReply *r = s_take (self, o.node);
    if (!r) {
        freeReplyObject (exec);
        qy_cluster_drop_pipeline (self);
        return NULL;
    }
    self->head = (self->head + 1) % self->owed_cap;
    self->nowed--;
    redisFreeCommand (o.cmd);
    bool replicated = r->type == REDIS_REPLY_INTEGER && r->integer >= 1;
    freeReplyObject (r);
    if (replicated)
        return exec;
    self->unreplicated++;
    self->stale = true;
    qy_log_warn ("redis write not on a replica within wait_ms=%d host=%s port=%d: held back", self->wait_ms,
                 self->nodes [o.node].host, self->nodes [o.node].port);
    freeReplyObject (exec);
    qy_cluster_drop_pipeline (self);
    return NULL;
}

//  A redirect answered to a transaction's command: the map is stale (the
//  slot moved, or is moving); the caller runs the transaction again.
static redisReply *s_raw_reply (qy_cluster_t *self, int idx, redisReply *r)
{
    qy_redirect_t to;
    if (r->type == REDIS_REPLY_ERROR && qy_redis_redirect_parse (r->str, r->len, &to) != QY_REDIRECT_NONE) {
        if (to.kind == QY_REDIRECT_MOVED) {
            char *host = qy_strdup (to.host [0] ? to.host : self->nodes [idx].host);
            self->slots [to.slot] = (uint16_t) (s_node (self, host, to.port) + 1);
            free (host);
        }
        self->stale = true;
    }
    if (r->type == REDIS_REPLY_ERROR && qy_redis_tx_error (r->str, r->len) == QY_TX_AGAIN)
        self->stale = true;
    return r;
}

redisReply *qy_cluster_get_reply (qy_cluster_t *self)
{
    while (self->nowed) {
        s_owed_t o = self->owed [self->head];
        redisReply *r = s_take (self, o.node);
        if (!r) {
            qy_cluster_drop_pipeline (self);
            return NULL;
        }
        self->head = (self->head + 1) % self->owed_cap;
        self->nowed--;
        if (o.raw) {
            redisFreeCommand (o.cmd);
            r = s_raw_reply (self, o.node, r);
            return self->nowed && self->owed [self->head].wait ? s_waited (self, r) : r;
        }
        r = s_follow (self, o.node, r, o.cmd, o.len);
        redisFreeCommand (o.cmd);
        if (!r) {
            qy_cluster_drop_pipeline (self);
            return NULL;
        }
        if (!o.internal)
            return r;
        qy_redis_sha_reply (NULL, r);
    }
    return NULL;
}

static bool s_has_script (const s_node_t *n, const qy_script_t *script)
{
    for (size_t i = 0; i < n->nscripts; i++)
        if (n->scripts [i] == script)
            return true;
    return false;
}

static void s_add_script (s_node_t *n, const qy_script_t *script)
{
    if (s_has_script (n, script))
        return;
    if (n->nscripts == n->scripts_cap) {
        n->scripts_cap = n->scripts_cap ? n->scripts_cap * 2 : 8;
        n->scripts = qy_realloc (n->scripts, n->scripts_cap * sizeof (qy_script_t *));
    }
    n->scripts [n->nscripts++] = script;
}

static char *s_load_cmd (const qy_script_t *script, size_t *len)
{
    char *cmd;
    long long n = redisFormatCommand (&cmd, "SCRIPT LOAD %s", script->source);
    *len = n > 0 ? (size_t) n : 0;
    return n > 0 ? cmd : NULL;
}

//  SCRIPT LOAD on node idx now (nothing owed on it); 0 or -1.
static int s_load_now (qy_cluster_t *self, int idx, qy_script_t *script)
{
    size_t len;
    char *cmd = s_load_cmd (script, &len);
    redisReply *r = cmd ? s_send (self, idx, cmd, len, false) : NULL;
    redisFreeCommand (cmd);
    if (!r || qy_redis_sha_reply (script, r))
        return -1;
    s_add_script (&self->nodes [idx], script);
    return 0;
}

int qy_cluster_script_ready (qy_cluster_t *self, qy_script_t *script, const char *key, size_t keylen)
{
    int idx = s_route (self, key ? qy_redis_keyslot (key, keylen) : -1);
    if (idx < 0 || !s_connect (self, idx))
        return -1;
    s_node_t *n = &self->nodes [idx];
    if (script->sha [0] && s_has_script (n, script))
        return 0;
    if (!n->wire)
        return s_load_now (self, idx, script);
    if (!script->sha [0])
        return 1;
    size_t len;
    char *cmd = s_load_cmd (script, &len);
    if (!cmd || s_append_to (self, idx, cmd, len, true))
        return -1;
    s_add_script (n, script);
    return 0;
}

int qy_cluster_load_script (qy_cluster_t *self, qy_script_t *script)
{
    qy_cluster_drop_pipeline (self);
    if (s_route (self, -1) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < self->nnodes; i++)
        if (self->nodes [i].master && s_load_now (self, (int) i, script))
            rc = -1;
    return rc;
}
