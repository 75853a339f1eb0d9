//  A Redis connection that reconnects with backoff. Errors stay in the
//  connection (ok / errstr) in the manner of hiredis; a command that fails
//  because Redis is away returns NULL and the next call tries again.
//  host:port may be any node of a Redis Cluster: the first connect asks it
//  CLUSTER SLOTS, and from then on commands go to the master of their key's
//  slot (MOVED and ASK followed), a pipeline is split per node with its
//  replies returned in append order, and scripts are loaded on the node
//  that runs them. A cluster that is failing over (no master for a slot,
//  CLUSTERDOWN) counts as Redis away. Every multi-key command and script
//  must keep its keys in one slot ({hash tag}).
#ifndef QY_REDIS_H
#define QY_REDIS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

typedef struct qy_redis_t qy_redis_t;

//  Create a connection to host:port. Connects lazily. Caller owns it.
qy_redis_t *qy_redis_new (const char *host, int port);
void qy_redis_destroy (qy_redis_t **self_p);
//  True when host:port is a Redis Cluster (asks at the first connect):
//  then each script call's keys must share a slot; a single Redis takes a
//  call with keys of any slots.
bool qy_redis_is_cluster (qy_redis_t *self);
//  True when the last command reached Redis.
bool qy_redis_ok (qy_redis_t *self);
const char *qy_redis_errstr (qy_redis_t *self);
//  Drop the connection (e.g. after a pipeline was read only in part, so
//  no stale reply is ever taken for the next command's).
void qy_redis_disconnect (qy_redis_t *self);
//  Run one command. Returns the reply (caller frees with freeReplyObject),
//  or NULL when Redis cannot be reached; a REDIS_REPLY_ERROR is returned
//  as a reply.
redisReply *qy_redis_cmd (qy_redis_t *self, const char *fmt, ...);
redisReply *qy_redis_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen);
//  Pipelining: append commands, then read one reply per appended command.
//  qy_redis_append returns -1 when Redis cannot be reached. A command sent
//  outside the pipeline while its replies are unread drops the pipeline
//  with the connection (never interleaved); qy_redis_get_reply returns NULL
//  once nothing is owed, and never waits for a reply that will not come.
int qy_redis_append_argv (qy_redis_t *self, int argc, const char **argv, const size_t *argvlen);
redisReply *qy_redis_get_reply (qy_redis_t *self);
//  Append a command of a transaction (WATCH, its reads, MULTI, its writes,
//  EXEC): on a Redis Cluster it goes to the node serving key's slot, and a
//  MOVED, ASK or CLUSTERDOWN is its reply (the slot map refreshed before
//  the next command), never followed: the caller runs the transaction
//  again. On a single Redis, as qy_redis_append_argv.
int qy_redis_append_keyed (qy_redis_t *self, const char *key, int argc, const char **argv, const size_t *argvlen);
//  Writes that must survive a failover (wait_ms > 0, at most 1500; a Redis
//  Cluster): a transaction's EXEC appended with qy_redis_append_keyed on a
//  master with replicas is answered once one replica has its writes.
//  Replication is asynchronous, so without it a master killed just after
//  EXEC loses what its replica had not received yet, after the caller took
//  it as written. The reply is NULL (Redis away: run the transaction again,
//  which waits again) when the master went away, or no replica acknowledged
//  within wait_ms (logged, counted by qy_redis_unreplicated). A replica
//  that lags holds the writes back; one that failed does not, once the
//  cluster has flagged it (cluster-node-timeout) and left it out of the
//  slot map. A single Redis's replicas are not followed: no wait.
void qy_redis_set_wait (qy_redis_t *self, int wait_ms);
int64_t qy_redis_unreplicated (const qy_redis_t *self);
//  Replies appended and not read yet.
size_t qy_redis_unread (const qy_redis_t *self);
//  argv as RESP (what redisFormatCommandArgv writes, without its printf
//  per word); *len its length. argvlen NULL: each word up to its NUL.
//  Caller frees (free).
char *qy_redis_format (int argc, const char **argv, const size_t *argvlen, size_t *len);

//  A Lua script run by SHA and reloaded on NOSCRIPT.
typedef struct {
    const char *source;
    char        sha [41];
    uint64_t    conn;       //  the connection it is known loaded on
} qy_script_t;
//  Append EVALSHA for script to the pipeline. A script not loaded on this
//  connection yet (a new one after a restart) is loaded first: now if the
//  pipeline is empty, else by a SCRIPT LOAD ahead of it in the pipeline.
int qy_redis_append_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                            int nargs, const char **args, const size_t *arglens);
//  Run a script and return its reply (NULL when Redis is away).
redisReply *qy_redis_script (qy_redis_t *self, qy_script_t *script, int nkeys,
                             int nargs, const char **args, const size_t *arglens);
//  Make sure the script is loaded (after a NOSCRIPT reply in a pipeline).
int qy_redis_load_script (qy_redis_t *self, qy_script_t *script);
#endif
