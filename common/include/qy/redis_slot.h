//  Redis Cluster routing as pure functions: a key's hash slot, the key of
//  a formatted command, MOVED/ASK redirects and the CLUSTER SLOTS map.
//  No I/O: qy_redis (cluster mode) calls these and the unit tests too.
#ifndef QY_REDIS_SLOT_H
#define QY_REDIS_SLOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#define QY_REDIS_SLOTS 16384

//  The hash slot of a key: CRC16/XMODEM mod 16384 of the key, or of its
//  hash tag (the bytes between the first '{' and the next '}', if any).
int qy_redis_keyslot (const char *key, size_t len);

//  The slot of a command formatted as RESP (redisFormatCommandArgv): the
//  slot of its key, or -1 for a command without a key (PING, INFO,
//  SCRIPT, CLUSTER …, EVAL/EVALSHA with no keys) or bytes that are not
//  a RESP command. The key is argv[1], or argv[3] for EVAL and EVALSHA.
int qy_redis_cmd_slot (const char *cmd, size_t len);

typedef enum { QY_REDIRECT_NONE, QY_REDIRECT_MOVED, QY_REDIRECT_ASK } qy_redirect_kind_t;
typedef struct {
    qy_redirect_kind_t kind;
    int                slot;
    char               host [256];   //  empty: the node that answered
    int                port;
} qy_redirect_t;
//  Parse an error reply "MOVED 3999 127.0.0.1:6381" or "ASK …". Returns
//  the kind (QY_REDIRECT_NONE for any other error or a malformed one).
qy_redirect_kind_t qy_redis_redirect_parse (const char *err, size_t len, qy_redirect_t *out);

//  What an error answered inside a transaction (to WATCH, a read, a
//  queued command or EXEC) means for it: QY_TX_AGAIN, the slot moved or
//  the cluster is in flux (MOVED, ASK, TRYAGAIN, CLUSTERDOWN): run the
//  whole transaction again once the slot map is asked for again;
//  QY_TX_WRONGTYPE, a key of the wrong type (that key's work is set
//  aside); QY_TX_AWAY, anything else (LOADING, OOM, READONLY, EXECABORT
//  …): Redis is the trouble, try later.
typedef enum { QY_TX_AGAIN, QY_TX_WRONGTYPE, QY_TX_AWAY } qy_tx_error_t;
qy_tx_error_t qy_redis_tx_error (const char *err, size_t len);

//  One range of slots, the master serving it and how many replicas it has
//  (the map leaves out replicas flagged as failed).
typedef struct {
    int  start, end;
    char host [256];                  //  empty: the node that answered
    int  port;
    int  replicas;
} qy_slot_range_t;
//  Parse a CLUSTER SLOTS reply into *ranges (caller frees). Returns the
//  number of ranges, or -1 when the reply is not a slot map.
int qy_redis_slots_parse (const redisReply *r, qy_slot_range_t **ranges);
#endif
