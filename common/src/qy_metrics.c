#include "qy/metrics.h"
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#define S_MAX_METRICS 192
#define S_SUB 8                       //  buckets per power of two
#define S_BUCKETS (40 * S_SUB)

typedef enum { S_COUNTER, S_GAUGE, S_SUMMARY } s_type_t;

struct qy_metric_t {
    char           *name;
    char           *help;
    s_type_t        type;
    atomic_llong    value;
    atomic_llong    count;
    atomic_llong    sum;
    atomic_llong   *buckets;
};

static qy_metric_t s_metrics [S_MAX_METRICS];
static int s_nmetrics;

static qy_metric_t *s_register (const char *name, const char *help, s_type_t type)
{
    for (int i = 0; i < s_nmetrics; i++)
        if (strcmp (s_metrics [i].name, name) == 0)
            return &s_metrics [i];
    if (s_nmetrics == S_MAX_METRICS) {
        fprintf (stderr, "level=error msg=\"too many metrics\"\n");
        abort ();
    }
    qy_metric_t *m = &s_metrics [s_nmetrics++];
    m->name = qy_strdup (name);
    m->help = qy_strdup (help);
    m->type = type;
    if (type == S_SUMMARY)
        m->buckets = qy_calloc (S_BUCKETS, sizeof (atomic_llong));
    return m;
}

qy_metric_t *qy_counter (const char *name, const char *help) { return s_register (name, help, S_COUNTER); }
qy_metric_t *qy_gauge (const char *name, const char *help)   { return s_register (name, help, S_GAUGE); }
qy_metric_t *qy_summary (const char *name, const char *help) { return s_register (name, help, S_SUMMARY); }

void qy_metric_add (qy_metric_t *m, int64_t by)   { atomic_fetch_add (&m->value, by); }
void qy_metric_set (qy_metric_t *m, int64_t v)    { atomic_store (&m->value, v); }
int64_t qy_metric_value (qy_metric_t *m)          { return atomic_load (&m->value); }

static int s_bucket (int64_t v)
{
    if (v < 1)
        return 0;
    int b = (int) (log2 ((double) v) * S_SUB) + 1;
    return b >= S_BUCKETS ? S_BUCKETS - 1 : b;
}

static double s_upper (int b)
{
    return b == 0 ? 1.0 : exp2 ((double) b / S_SUB);
}

void qy_metric_observe (qy_metric_t *m, int64_t v)
{
    atomic_fetch_add (&m->buckets [s_bucket (v)], 1);
    atomic_fetch_add (&m->count, 1);
    atomic_fetch_add (&m->sum, v);
}

int64_t qy_metric_quantile (qy_metric_t *m, double q)
{
    long long total = atomic_load (&m->count);
    if (total == 0)
        return 0;
    long long want = (long long) ceil (q * (double) total), seen = 0;
    for (int b = 0; b < S_BUCKETS; b++) {
        seen += atomic_load (&m->buckets [b]);
        if (seen >= want)
            return (int64_t) s_upper (b);
    }
    return (int64_t) s_upper (S_BUCKETS - 1);
}

//  "a{b=\"c\"}" → base "a", labels "b=\"c\""
static void s_split (const char *name, char *base, size_t blen, const char **labels)
{
    const char *brace = strchr (name, '{');
    size_t n = brace ? (size_t) (brace - name) : strlen (name);
    qy_snprintf (base, blen, "%.*s", (int) n, name);
    *labels = brace ? brace + 1 : NULL;
}

void qy_metrics_render (qy_buf_t *out)
{
    char last [160] = "";
    for (int i = 0; i < s_nmetrics; i++) {
        qy_metric_t *m = &s_metrics [i];
        char base [160];
        const char *labels;
        s_split (m->name, base, sizeof (base), &labels);
        if (strcmp (base, last) != 0) {
            qy_buf_printf (out, "# HELP %s %s\n# TYPE %s %s\n", base, m->help, base,
                           m->type == S_COUNTER ? "counter" : m->type == S_GAUGE ? "gauge" : "summary");
            qy_strlcpy (last, base, sizeof (last));
        }
        if (m->type != S_SUMMARY) {
            qy_buf_printf (out, "%s %lld\n", m->name, (long long) atomic_load (&m->value));
            continue;
        }
        static const double qs [] = { 0.5, 0.9, 0.99, 0.999 };
        int lablen = labels ? (int) strlen (labels) - 1 : 0;
        for (size_t k = 0; k < QY_ARRAY_LEN (qs); k++)
            qy_buf_printf (out, "%s{%.*s%squantile=\"%g\"} %.6f\n", base, lablen, labels ? labels : "",
                           labels ? "," : "", qs [k], (double) qy_metric_quantile (m, qs [k]) / 1e6);
        qy_buf_printf (out, "%s_sum%s%s %.6f\n", base, labels ? "{" : "", labels ? labels : "",
                       (double) atomic_load (&m->sum) / 1e6);
        qy_buf_printf (out, "%s_count%s%s %lld\n", base, labels ? "{" : "", labels ? labels : "",
                       (long long) atomic_load (&m->count));
    }
}
