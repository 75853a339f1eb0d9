//  qy_metrics: Prometheus text format and summary quantiles.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "qy/metrics.h"

static void test_render (void **state)
{
    (void) state;
    qy_metric_t *a = qy_counter ("qy_test_events_total{status=\"ok\"}", "events");
    qy_metric_t *b = qy_counter ("qy_test_events_total{status=\"bad\"}", "events");
    qy_metric_t *g = qy_gauge ("qy_test_inflight", "in flight");
    assert_ptr_equal (a, qy_counter ("qy_test_events_total{status=\"ok\"}", "events"));
    qy_metric_add (a, 5);
    qy_metric_add (b, 2);
    qy_metric_set (g, 7);
    qy_buf_t out;
    qy_buf_init (&out);
    qy_metrics_render (&out);
    assert_non_null (strstr (out.data, "# TYPE qy_test_events_total counter\n"));
    assert_non_null (strstr (out.data, "qy_test_events_total{status=\"ok\"} 5\n"));
    assert_non_null (strstr (out.data, "qy_test_events_total{status=\"bad\"} 2\n"));
    assert_non_null (strstr (out.data, "qy_test_inflight 7\n"));
    //  The HELP/TYPE header appears once for both label sets.
    char *first = strstr (out.data, "# TYPE qy_test_events_total");
    assert_null (strstr (first + 1, "# TYPE qy_test_events_total"));
    qy_buf_free (&out);
}

static void test_quantiles (void **state)
{
    (void) state;
    qy_metric_t *s = qy_summary ("qy_test_latency_seconds", "latency");
    for (int i = 1; i <= 1000; i++)
        qy_metric_observe (s, i * 100);          //  100 µs … 100 ms
    int64_t p50 = qy_metric_quantile (s, 0.5), p99 = qy_metric_quantile (s, 0.99);
    //  Log buckets: within about 10 % of the true value, never below it.
    assert_true (p50 >= 50000 && p50 <= 55000);
    assert_true (p99 >= 99000 && p99 <= 109000);
    qy_buf_t out;
    qy_buf_init (&out);
    qy_metrics_render (&out);
    assert_non_null (strstr (out.data, "qy_test_latency_seconds{quantile=\"0.5\"} 0.05"));
    assert_non_null (strstr (out.data, "qy_test_latency_seconds_count 1000\n"));
    qy_buf_free (&out);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_render),
        cmocka_unit_test (test_quantiles),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
