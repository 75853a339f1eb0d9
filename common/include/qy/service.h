//  What every Qunyun service shares at run time: the common part of its
//  config table, logging, SIGTERM handling, and the /health + /metrics
//  endpoint fed by atomics the main loop updates.
#ifndef QY_SERVICE_H
#define QY_SERVICE_H
#include <stdbool.h>
#include <stddef.h>
#include "qy/config.h"
#include "qy/http.h"
#include <protobuf-c/protobuf-c.h>

typedef struct {
    char *pg_dsn;
    bool  pg_prepare;
    char *redis_host;
    long  redis_port;
    char *http_bind;
    long  http_port;
    char *log_level;
    char *log_format;
    char *zmq_curve_server_key;      //  CURVE on the hops (qy/zmq_curve.h)
    char *zmq_curve_secret_key;
    char *zmq_curve_clients;
} qy_common_config_t;

//  Rows for the common options; put them in each service's table.
#define QY_COMMON_OPTIONS(T) \
    { "pg.dsn",     QY_STR, offsetof (T, common.pg_dsn),     "host=127.0.0.1 port=5432 dbname=qunyun user=qunyun", 0, 0, "libpq connection string" }, \
    { "pg.prepare", QY_BOOL, offsetof (T, common.pg_prepare), "true", 0, 0, "prepare statements run more than once per connection (false behind a pooler in transaction mode)" }, \
    { "redis.host", QY_STR, offsetof (T, common.redis_host), "127.0.0.1", 0, 0, "Redis host" }, \
    { "redis.port", QY_INT, offsetof (T, common.redis_port), "6379", 1, 65535, "Redis port" }, \
    { "http.bind",  QY_STR, offsetof (T, common.http_bind),  "0.0.0.0", 0, 0, "address of /health and /metrics" }, \
    { "http.port",  QY_INT, offsetof (T, common.http_port),  "0", 0, 65535, "port of /health and /metrics (0 = any free)" }, \
    { "log.level",  QY_STR, offsetof (T, common.log_level),  "info", 0, 0, "lowest level logged", .choices = "debug|info|warn|error" }, \
    { "log.format", QY_STR, offsetof (T, common.log_format), "logfmt", 0, 0, "one record per line as key=value pairs (logfmt) or as a JSON object with the same keys", .choices = "logfmt|json" }, \
    { "zmq.curve_server_key", QY_STR, offsetof (T, common.zmq_curve_server_key), "", 0, 0, "the bus's CURVE public key (Z85): set, this service's sockets to the bus are CURVE clients (hops across hosts; docs/operations.md)" }, \
    { "zmq.curve_secret_key", QY_STR, offsetof (T, common.zmq_curve_secret_key), "", 0, 0, "this process's own CURVE secret key on the hops (Z85; set it with _FILE): the bus's server key, a service's client key" }, \
    { "zmq.curve_clients", QY_STR, offsetof (T, common.zmq_curve_clients), "", 0, 0, "bus only: the services' CURVE public keys allowed on the hops (comma-separated); empty: any client knowing the bus's public key" }

//  What a service needs to do its work. QY_DEP_BUS: its link to the bus
//  (a PUSH socket connected to a hop's front), for a service that takes
//  no work while it has none (ingest).
typedef enum { QY_DEP_PG, QY_DEP_REDIS, QY_DEP_BUS, QY_DEP__COUNT } qy_dep_t;

//  Parse argv (--config FILE), load the config table, start logging,
//  install SIGTERM/SIGINT handlers and the HTTP endpoint. On a bad
//  configuration prints why and exits 2. cfg must start zeroed.
void qy_service_start (const char *name, int argc, char **argv,
                       const qy_option_t *opts, size_t nopts, void *cfg,
                       const qy_common_config_t *common);
//  False once SIGTERM or SIGINT arrived.
bool qy_service_running (void);
//  While running, INT64_MAX; once asked to stop, the monotonic time (µs,
//  qy_mono_us) by which the work in hand must be done: QY_STOP_GRACE_US
//  after the stop was first noticed (compose kills 10 s after SIGTERM).
#define QY_STOP_GRACE_US 5000000
int64_t qy_service_stop_deadline (void);
//  Whether work in hand may still wait (for PostgreSQL, Redis, a full next
//  hop): while running, and once stopping until the deadline.
bool qy_service_waiting (void);
//  Ask the loop to stop (as a signal would).
void qy_service_request_stop (void);
//  Declare which dependencies this service needs, and report their state.
void qy_service_needs (qy_dep_t dep);
void qy_service_set_dep (qy_dep_t dep, bool up);
//  Set up, every dependency declared: call just before the main loop. Until
//  then /readyz and /health say 503 ("starting":true). The endpoint is up
//  from qy_service_start, and a dependency not declared yet cannot hold
//  readiness back: ingest answered ready while it connected to PostgreSQL,
//  before it needed the bus, and a gateway's first batch was answered busy.
void qy_service_ready (void);
//  What /livez (QY_PROBE_LIVE) or /readyz and /health answer: the body into
//  out, true for 200. Reads atomics only (called on the HTTP thread).
bool qy_service_probe (qy_probe_t probe, qy_buf_t *out);
//  Waiting out a dependency that failed (PostgreSQL, Redis): every loop
//  that tries again uses this one schedule. The pause grows from
//  QY_WAIT_FIRST_MS, doubling, to QY_WAIT_MAX_MS: a blip costs a tenth of a
//  second, an outage is not hammered, and a recovered server is back in
//  use within half a second. Start each wait with a zeroed qy_wait_t;
//  .at_stop gives up as soon as the service is asked to stop, rather than
//  at the end of its grace (for work whose lease lets another replica
//  redo it).
#define QY_WAIT_FIRST_MS 100
#define QY_WAIT_MAX_MS   500
typedef struct {
    int  tries;                 //  failed tries so far
    bool at_stop;
} qy_wait_t;
//  The pause after the given number of failed tries (1 or more). Pure.
int qy_wait_delay_ms (int tries);
//  One try failed: report dep up or down (QY_DEP__COUNT: report nothing),
//  beat the heart, and if the service may still wait, sleep the next
//  pause. Returns true to try again, false to give up (stopping).
bool qy_service_wait (qy_wait_t *w, qy_dep_t dep, bool up);
//  Ping PostgreSQL and Redis (either may be NULL) at most once a second and
//  report them, so /health is true even while no work arrives.
struct qy_pg_t;
struct qy_redis_t;
void qy_service_check_deps (struct qy_pg_t *pg, struct qy_redis_t *redis);
//  Call from the main loop at least every few seconds; /health turns 503
//  if the loop has not beaten for 30 s (a stuck loop is not healthy).
void qy_service_heartbeat (void);
//  Send msg on a bus outlet (qy/outlet.h), waiting for room while the
//  service runs (its window of unacknowledged messages is full: that is
//  backpressure, not an error). Returns 0, or -1 when stopping.
typedef struct qy_outlet_t qy_outlet_t;
int qy_service_send (qy_outlet_t *out, const ProtobufCMessage *msg);
//  Stop the HTTP endpoint and free the config.
void qy_service_stop (const qy_option_t *opts, size_t nopts, void *cfg);
#endif
