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
void qy_http_destroy (qy_http_t **self_p);
int qy_http_port (qy_http_t *self);
#endif
