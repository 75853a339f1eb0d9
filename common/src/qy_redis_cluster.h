//  Redis Cluster mode of qy_redis (internal to common/): one connection
//  per master, commands routed by their key's slot, MOVED and ASK
//  followed, a pipeline split per node with its replies handed back in the
//  caller's order. qy_redis.c switches to it when the configured server
//  answers CLUSTER SLOTS with a map; callers only ever see qy/redis.h.
#ifndef QY_REDIS_CLUSTER_H
#define QY_REDIS_CLUSTER_H
#include "qy/redis.h"

typedef struct qy_cluster_t qy_cluster_t;

//  A FIFO ring of *cap elements of size bytes from *head holding n: when
//  full, grow it (twice the size, at least 64) with its elements in order
//  from index 0. The owed replies of both modes and the early replies.
void qy_redis_ring_grow (void **buf, size_t size, size_t *head, size_t n, size_t *cap);
//  Take a SCRIPT LOAD reply (consumed): its SHA into script (when not
//  NULL) and 0, or a logged error and -1.
int qy_redis_sha_reply (qy_script_t *script, redisReply *r);

//  A cluster reached first through seed host:port, whose CLUSTER SLOTS
//  reply was slots (borrowed). Caller owns it.
qy_cluster_t *qy_cluster_new (const char *host, int port, const redisReply *slots);
void qy_cluster_destroy (qy_cluster_t **self_p);
bool qy_cluster_ok (const qy_cluster_t *self);
const char *qy_cluster_errstr (const qy_cluster_t *self);
//  wait_ms > 0 (at most 1500): a transaction's EXEC (qy_cluster_append_keyed)
//  on a node with replicas is followed by WAIT 1 wait_ms, and its reply is
//  handed out once a replica has its writes; none (the pipeline dropped:
//  run the transaction again) when the node went away meanwhile or no
//  replica acknowledged within wait_ms (counted in qy_cluster_unreplicated,
//  logged).
void qy_cluster_set_wait (qy_cluster_t *self, int wait_ms);
int64_t qy_cluster_unreplicated (const qy_cluster_t *self);
//  Drop the pipeline with every connection that owed it replies.
void qy_cluster_drop_pipeline (qy_cluster_t *self);
//  Drop every connection and the pipeline with them.
void qy_cluster_disconnect (qy_cluster_t *self);
//  Run one command formatted as RESP (consumed). NULL when the node that
//  serves its slot cannot be reached (or the cluster is down).
redisReply *qy_cluster_command (qy_cluster_t *self, char *cmd, size_t len);
//  Append a formatted command (consumed) to the pipeline; -1 when its node
//  cannot be reached (the whole pipeline is dropped then).
int qy_cluster_append (qy_cluster_t *self, char *cmd, size_t len);
//  Append a formatted command (consumed) for the node serving key's slot,
//  whatever its own keys (MULTI, EXEC): a transaction's commands. Their
//  MOVED, ASK, CLUSTERDOWN or TRYAGAIN is returned as the reply, with the
//  slot map marked stale, never followed (a queued command sent again
//  elsewhere would split the transaction).
int qy_cluster_append_keyed (qy_cluster_t *self, const char *key, size_t keylen, char *cmd, size_t len);
redisReply *qy_cluster_get_reply (qy_cluster_t *self);
size_t qy_cluster_unread (const qy_cluster_t *self);
//  Make sure script is loaded on the node of key (NULL: any node) before
//  its EVALSHA is appended; as s_ready in qy_redis.c: 0, 1 (send EVAL with
//  the source), or -1.
int qy_cluster_script_ready (qy_cluster_t *self, qy_script_t *script, const char *key, size_t keylen);
//  Load script on every master (the pipeline is dropped first). 0 or -1.
int qy_cluster_load_script (qy_cluster_t *self, qy_script_t *script);
#endif
