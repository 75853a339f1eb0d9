//  The small HTTP endpoint every service runs: /metrics, and the probes
//  /livez (the process's loop turns), /readyz (and its dependencies are
//  up: send it work) and /health (readyz, kept for existing checks).
#ifndef QY_HTTP_H
#define QY_HTTP_H
#include <stdbool.h>
#include "qy/util.h"

typedef struct qy_http_t qy_http_t;
typedef enum { QY_PROBE_LIVE, QY_PROBE_READY } qy_probe_t;
//  Writes the probe's body into out; returns true when it passes (200) or
//  false (503). Called on the HTTP thread: it must only read atomics.
typedef bool (qy_health_fn) (void *arg, qy_probe_t probe, qy_buf_t *out);

//  Listen on port (0 = pick a free one). Returns NULL on failure.
qy_http_t *qy_http_new (const char *bind_addr, int port, qy_health_fn *health, void *arg);

//  A service that serves more than /health and /metrics on the same port
//  (qy-wecom: WeCom's callbacks) sets a router before qy_service_start:
//  every other path is handed to it with the body read (up to max_body
//  bytes, else 413), on one of threads worker threads, with at most conns
//  connections at once and conns_per_ip from one address (0: no limit;
//  one over is closed at once). The router fills out (and *type, default
//  application/json) and returns the status.
typedef struct qy_http_req_t qy_http_req_t;
typedef unsigned (qy_http_route_fn) (void *arg, qy_http_req_t *req, qy_buf_t *out, const char **type);
void qy_http_set_router (qy_http_route_fn *fn, void *arg, size_t max_body, unsigned threads, unsigned conns,
                         unsigned conns_per_ip);
const char *qy_http_method (const qy_http_req_t *req);
const char *qy_http_url (const qy_http_req_t *req);
const char *qy_http_body (const qy_http_req_t *req, size_t *len);
//  A query argument or a request header (NULL when absent).
const char *qy_http_query (const qy_http_req_t *req, const char *key);
const char *qy_http_header (const qy_http_req_t *req, const char *name);
void qy_http_destroy (qy_http_t **self_p);
int qy_http_port (qy_http_t *self);
#endif
