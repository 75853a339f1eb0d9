//  Process-wide Prometheus metrics. Register from any thread (at start-up
//  as a rule), update from any thread (atomic), render from the HTTP thread
//  in the text format: each family once, with one HELP and one TYPE line,
//  label values and HELP text escaped, then the process's own metrics
//  (process_cpu_seconds_total, process_resident_memory_bytes,
//  process_open_fds, process_max_fds, process_start_time_seconds) and
//  qy_build_info{version,commit}.
#ifndef QY_METRICS_H
#define QY_METRICS_H
#include <stdint.h>
#include "qy/util.h"

typedef struct qy_metric_t qy_metric_t;

//  name may carry labels: "qy_ingest_events_total{status=\"accepted\"}";
//  a label value may hold any bytes but a newline (quotes and backslashes
//  are escaped when rendered). Registering the same name twice returns the
//  same metric.
qy_metric_t *qy_counter (const char *name, const char *help);
qy_metric_t *qy_gauge (const char *name, const char *help);
//  A counter of durations added in microseconds, rendered in seconds (name
//  it ..._seconds_total).
qy_metric_t *qy_counter_us (const char *name, const char *help);
//  A latency histogram: observed in microseconds, rendered in seconds as
//  _bucket{le=…} (QY_METRIC_BUCKETS_S, then +Inf), _sum and _count, so
//  replicas add up and quantiles over any window can be computed
//  (histogram_quantile). Quantiles of the whole run are also kept in fine
//  log buckets (about 9 % resolution) for qy_metric_quantile.
//  The bounds are the conventional decades (1, 2.5, 5, 10), with more
//  between 5 and 50 ms, where the chain's latency objectives are (p99 12 ms
//  at 5,000 events/s, 20 ms at 10,000): with 10, 25 and 50 alone a p99 of
//  15 ms could not be told from one of 24.
qy_metric_t *qy_histogram (const char *name, const char *help);
#define QY_METRIC_BUCKETS_S 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, \
                            0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60

void qy_metric_add (qy_metric_t *m, int64_t by);
void qy_metric_set (qy_metric_t *m, int64_t value);
int64_t qy_metric_value (qy_metric_t *m);
void qy_metric_observe (qy_metric_t *m, int64_t value_us);
//  Quantile q (0..1) of a histogram since start, in microseconds (the fine
//  bucket's upper bound).
int64_t qy_metric_quantile (qy_metric_t *m, double q);

void qy_metrics_render (qy_buf_t *out);

//  What this build is: the version and the source commit (QY_VERSION and
//  QY_COMMIT at configure time; "unknown" outside a git checkout).
const char *qy_build_version (void);
const char *qy_build_commit (void);
//  Seconds since the process started.
double qy_uptime_s (void);
#endif
