//  Process-wide Prometheus metrics. Register at start-up (not thread-safe),
//  update from any thread (atomic), render from the HTTP thread.
#ifndef QY_METRICS_H
#define QY_METRICS_H
#include <stdint.h>
#include "qy/util.h"

typedef struct qy_metric_t qy_metric_t;

//  name may carry labels: "qy_ingest_events_total{status=\"accepted\"}".
//  Registering the same name twice returns the same metric.
qy_metric_t *qy_counter (const char *name, const char *help);
qy_metric_t *qy_gauge (const char *name, const char *help);
//  A latency summary in microseconds, rendered in seconds with
//  quantiles 0.5, 0.9, 0.99 and 0.999 (log buckets, about 9 % resolution).
qy_metric_t *qy_summary (const char *name, const char *help);

void qy_metric_add (qy_metric_t *m, int64_t by);
void qy_metric_set (qy_metric_t *m, int64_t value);
int64_t qy_metric_value (qy_metric_t *m);
void qy_metric_observe (qy_metric_t *m, int64_t value_us);
//  Quantile q (0..1) of a summary, in microseconds (bucket upper bound).
int64_t qy_metric_quantile (qy_metric_t *m, double q);

void qy_metrics_render (qy_buf_t *out);
#endif
