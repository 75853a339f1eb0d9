//  qy_metrics: Prometheus text format (families once, escaping, histograms
//  in seconds, process metrics, build info) and quantiles.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qy/metrics.h"

static int s_count (const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr (p, needle)); p++)
        n++;
    return n;
}

//  The whole /metrics text now; caller frees.
static char *s_render (void)
{
    qy_buf_t buf;
    qy_buf_init (&buf);
    qy_metrics_render (&buf);
    char *text = strdup (buf.data);
    qy_buf_free (&buf);
    return text;
}

static void test_render (void **state)
{
    (void) state;
    qy_metric_t *a = qy_counter ("qy_test_events_total{status=\"ok\"}", "events");
    qy_metric_t *g = qy_gauge ("qy_test_inflight", "in flight");
    //  Registered after another family: still rendered under the first header.
    qy_metric_t *b = qy_counter ("qy_test_events_total{status=\"bad\"}", "events");
    assert_ptr_equal (a, qy_counter ("qy_test_events_total{status=\"ok\"}", "events"));
    qy_metric_add (a, 5);
    qy_metric_add (b, 2);
    qy_metric_set (g, 7);
    char *out = s_render ();
    assert_non_null (strstr (out, "# TYPE qy_test_events_total counter\n"
                                       "qy_test_events_total{status=\"ok\"} 5\n"
                                       "qy_test_events_total{status=\"bad\"} 2\n"));
    assert_non_null (strstr (out, "qy_test_inflight 7\n"));
    assert_int_equal (s_count (out, "# TYPE qy_test_events_total "), 1);
    assert_int_equal (s_count (out, "# HELP qy_test_events_total "), 1);
    free (out);
}

//  Label values and HELP text are escaped (quote, backslash, newline),
//  whatever the caller put in them.
static void test_escaping (void **state)
{
    (void) state;
    qy_metric_add (qy_counter ("qy_test_odd_total{kind=\"a\"b\\c\",hop=\"x\"}", "line one\nback\\slash"), 1);
    qy_metric_add (qy_counter ("qy_test_odd_total{kind=\"new\nline\"}", "line one\nback\\slash"), 1);
    char *out = s_render ();
    assert_non_null (strstr (out, "# HELP qy_test_odd_total line one\\nback\\\\slash\n"));
    assert_non_null (strstr (out, "qy_test_odd_total{kind=\"a\\\"b\\\\c\",hop=\"x\"} 1\n"));
    assert_non_null (strstr (out, "qy_test_odd_total{kind=\"new\\nline\"} 1\n"));
    free (out);
}

static void test_histogram (void **state)
{
    (void) state;
    qy_metric_t *s = qy_histogram ("qy_test_latency_seconds{hop=\"h\"}", "latency");
    for (int i = 1; i <= 1000; i++)
        qy_metric_observe (s, i * 100);          //  100 µs … 100 ms
    qy_metric_observe (s, 90 * 1000000LL);       //  90 s: only in +Inf
    int64_t p50 = qy_metric_quantile (s, 0.5), p99 = qy_metric_quantile (s, 0.99);
    //  Fine log buckets: within about 10 % of the true value, never below it.
    assert_true (p50 >= 50000 && p50 <= 55000);
    assert_true (p99 >= 99000 && p99 <= 109000);
    char *out = s_render ();
    assert_non_null (strstr (out, "# TYPE qy_test_latency_seconds histogram\n"));
    //  Cumulative, in seconds: ≤ 0.5 ms holds 5 (100 … 500 µs), ≤ 10 ms 100, ≤ 0.1 s 1000.
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"0.0005\"} 5\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"0.01\"} 100\n"));
    //  Finer bounds where the objectives are: ≤ 12.5 ms holds 125, ≤ 15 ms 150.
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"0.0125\"} 125\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"0.015\"} 150\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"0.1\"} 1000\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"60\"} 1000\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_bucket{hop=\"h\",le=\"+Inf\"} 1001\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_sum{hop=\"h\"} 140.050000\n"));
    assert_non_null (strstr (out, "qy_test_latency_seconds_count{hop=\"h\"} 1001\n"));
    assert_null (strstr (out, "quantile"));
    free (out);
}

//  Durations counted in microseconds are rendered in seconds.
static void test_seconds_counter (void **state)
{
    (void) state;
    qy_metric_add (qy_counter_us ("qy_test_busy_seconds_total", "busy"), 2500000);
    char *out = s_render ();
    assert_non_null (strstr (out, "# TYPE qy_test_busy_seconds_total counter\nqy_test_busy_seconds_total 2.500000\n"));
    free (out);
}

static void test_process_and_build (void **state)
{
    (void) state;
    char *out = s_render ();
    assert_non_null (strstr (out, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "));
    assert_non_null (strstr (out, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "));
    assert_non_null (strstr (out, "# TYPE process_open_fds gauge\nprocess_open_fds "));
    assert_non_null (strstr (out, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds "));
    char *rss = strstr (out, "\nprocess_resident_memory_bytes ");
    assert_true (rss && atoll (rss + 31) > 100000);
    char want [160];
    snprintf (want, sizeof (want), "qy_build_info{version=\"%s\",commit=\"%s\"} 1\n", qy_build_version (), qy_build_commit ());
    assert_non_null (strstr (out, want));
    assert_true (strlen (qy_build_version ()) > 0 && strlen (qy_build_commit ()) > 0);
    assert_true (qy_uptime_s () >= 0 && qy_uptime_s () < 3600);
    free (out);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_render),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_histogram),
        cmocka_unit_test (test_seconds_counter),
        cmocka_unit_test (test_process_and_build),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
