#include "qy/metrics.h"
#include "qy/log.h"
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef QY_VERSION
#define QY_VERSION "unknown"
#endif
#ifndef QY_COMMIT
#define QY_COMMIT "unknown"
#endif

#define S_MAX_METRICS 256
#define S_SUB 8                       //  fine buckets per power of two
#define S_BUCKETS (40 * S_SUB)

typedef enum { S_COUNTER, S_COUNTER_US, S_GAUGE, S_HISTOGRAM } s_type_t;

static const double s_le [] = { QY_METRIC_BUCKETS_S };
#define S_NLE QY_ARRAY_LEN (s_le)

struct qy_metric_t {
    char           *name;         //  as registered
    char           *base;         //  the family: the name before '{'
    char           *labels;       //  rendered label pairs, escaped, no braces; NULL if none
    char           *help;
    s_type_t        type;
    atomic_llong    value;
    atomic_llong    count;
    atomic_llong    sum;
    atomic_llong   *fine;         //  histogram: S_BUCKETS log buckets (quantiles)
    atomic_llong   *le;           //  histogram: one per s_le bound (not cumulative)
};

static qy_metric_t s_metrics [S_MAX_METRICS];
static atomic_int s_nmetrics;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec s_start_wall, s_start_mono;

__attribute__ ((constructor)) static void s_note_start (void)
{
    clock_gettime (CLOCK_REALTIME, &s_start_wall);
    clock_gettime (CLOCK_MONOTONIC, &s_start_mono);
}

//  Escape into out: \ and " (label values only) and newlines.
static void s_escape (qy_buf_t *out, const char *s, size_t n, bool quotes)
{
    for (size_t i = 0; i < n; i++) {
        if (s [i] == '\\')
            qy_buf_puts (out, "\\\\");
        else
        if (s [i] == '\n')
            qy_buf_puts (out, "\\n");
        else
        if (s [i] == '"' && quotes)
            qy_buf_puts (out, "\\\"");
        else
            qy_buf_printf (out, "%c", s [i]);
    }
}

//  Whether p starts `,key="` (the next label) or is the end of the labels.
static bool s_value_ends (const char *p, const char *end)
{
    if (p == end)
        return true;
    if (*p++ != ',' || p == end || !(isalpha ((unsigned char) *p) || *p == '_'))
        return false;
    while (p < end && (isalnum ((unsigned char) *p) || *p == '_'))
        p++;
    return end - p >= 2 && p [0] == '=' && p [1] == '"';
}

//  `k="v",k2="v2"` as callers wrote it (values unescaped) → escaped pairs.
//  A value runs to the first quote that ends the labels or starts the next
//  one, so quotes and backslashes inside it survive. NULL if malformed.
static char *s_render_labels (const char *s, const char *end)
{
    qy_buf_t out;
    qy_buf_init (&out);
    while (s < end) {
        const char *eq = strchr (s, '=');
        if (!eq || eq >= end || eq [1] != '"') {
            qy_buf_free (&out);
            return NULL;
        }
        qy_buf_printf (&out, "%s%.*s=\"", out.len ? "," : "", (int) (eq - s), s);
        const char *v = eq + 2, *q = v;
        while (q < end && !(*q == '"' && s_value_ends (q + 1, end)))
            q++;
        if (q >= end) {
            qy_buf_free (&out);
            return NULL;
        }
        s_escape (&out, v, (size_t) (q - v), true);
        qy_buf_puts (&out, "\"");
        s = q + 1 < end ? q + 2 : end;
    }
    char *r = qy_strdup (out.data ? out.data : "");
    qy_buf_free (&out);
    return r;
}

static qy_metric_t *s_register (const char *name, const char *help, s_type_t type)
{
    pthread_mutex_lock (&s_lock);
    int n = atomic_load (&s_nmetrics);
    for (int i = 0; i < n; i++)
        if (strcmp (s_metrics [i].name, name) == 0) {
            pthread_mutex_unlock (&s_lock);
            return &s_metrics [i];
        }
    if (n == S_MAX_METRICS) {
        qy_log_error ("too many metrics max=%d", S_MAX_METRICS);
        abort ();
    }
    qy_metric_t *m = &s_metrics [n];
    m->name = qy_strdup (name);
    const char *brace = strchr (name, '{');
    size_t blen = brace ? (size_t) (brace - name) : strlen (name);
    m->base = qy_printf ("%.*s", (int) blen, name);
    if (brace) {
        const char *close = strrchr (brace, '}');
        m->labels = s_render_labels (brace + 1, close && close > brace ? close : brace + strlen (brace));
        if (!m->labels)
            qy_log_warn ("metric labels malformed, rendered without metric=%s", name);
    }
    m->help = qy_strdup (help);
    m->type = type;
    if (type == S_HISTOGRAM) {
        m->fine = qy_calloc (S_BUCKETS, sizeof (atomic_llong));
        m->le = qy_calloc (S_NLE, sizeof (atomic_llong));
    }
    atomic_store (&s_nmetrics, n + 1);
    pthread_mutex_unlock (&s_lock);
    return m;
}

qy_metric_t *qy_counter (const char *name, const char *help)    { return s_register (name, help, S_COUNTER); }
qy_metric_t *qy_counter_us (const char *name, const char *help) { return s_register (name, help, S_COUNTER_US); }
qy_metric_t *qy_gauge (const char *name, const char *help)      { return s_register (name, help, S_GAUGE); }
qy_metric_t *qy_histogram (const char *name, const char *help)  { return s_register (name, help, S_HISTOGRAM); }

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
    atomic_fetch_add (&m->fine [s_bucket (v)], 1);
    for (size_t i = 0; i < S_NLE; i++)
        if ((double) v <= s_le [i] * 1e6) {
            atomic_fetch_add (&m->le [i], 1);
            break;
        }
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
        seen += atomic_load (&m->fine [b]);
        if (seen >= want)
            return (int64_t) s_upper (b);
    }
    return (int64_t) s_upper (S_BUCKETS - 1);
}

//  name{labels[,extra]} with the braces only when there is something in them.
static void s_series (qy_buf_t *out, const char *base, const char *suffix, const qy_metric_t *m, const char *extra)
{
    const char *l = m->labels && *m->labels ? m->labels : NULL;
    if (!l && !extra)
        qy_buf_printf (out, "%s%s ", base, suffix);
    else
        qy_buf_printf (out, "%s%s{%s%s%s} ", base, suffix, l ? l : "", l && extra ? "," : "", extra ? extra : "");
}

static void s_render_one (qy_buf_t *out, qy_metric_t *m)
{
    if (m->type == S_COUNTER || m->type == S_GAUGE) {
        s_series (out, m->base, "", m, NULL);
        qy_buf_printf (out, "%lld\n", (long long) atomic_load (&m->value));
        return;
    }
    if (m->type == S_COUNTER_US) {
        s_series (out, m->base, "", m, NULL);
        qy_buf_printf (out, "%.6f\n", (double) atomic_load (&m->value) / 1e6);
        return;
    }
    //  Read count first: a concurrent observation then shows in no bucket
    //  rather than making +Inf smaller than the last bucket.
    long long count = atomic_load (&m->count), cum = 0;
    for (size_t i = 0; i < S_NLE; i++) {
        char le [40];
        cum += atomic_load (&m->le [i]);
        qy_snprintf (le, sizeof (le), "le=\"%g\"", s_le [i]);
        s_series (out, m->base, "_bucket", m, le);
        qy_buf_printf (out, "%lld\n", cum < count ? cum : count);
    }
    s_series (out, m->base, "_bucket", m, "le=\"+Inf\"");
    qy_buf_printf (out, "%lld\n", count);
    s_series (out, m->base, "_sum", m, NULL);
    qy_buf_printf (out, "%.6f\n", (double) atomic_load (&m->sum) / 1e6);
    s_series (out, m->base, "_count", m, NULL);
    qy_buf_printf (out, "%lld\n", count);
}

static void s_family_header (qy_buf_t *out, const char *base, const char *help, const char *type)
{
    qy_buf_printf (out, "# HELP %s ", base);
    s_escape (out, help ? help : "", help ? strlen (help) : 0, false);
    qy_buf_printf (out, "\n# TYPE %s %s\n", base, type);
}

//  The conventional process metrics, read from /proc at each scrape.
static void s_render_process (qy_buf_t *out)
{
    long tick = sysconf (_SC_CLK_TCK), page = sysconf (_SC_PAGESIZE);
    FILE *f = fopen ("/proc/self/stat", "r");
    char stat [1024];
    size_t n = f ? fread (stat, 1, sizeof (stat) - 1, f) : 0;
    if (f)
        fclose (f);
    stat [n] = 0;
    //  Fields after the command name (in parentheses, may hold spaces):
    //  state is field 3; utime 14, stime 15; rss 24 (pages).
    const char *p = strrchr (stat, ')');
    unsigned long long utime = 0, stime = 0;
    long long rss = 0;
    if (p && sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %lld",
                     &utime, &stime, &rss) == 3 && tick > 0) {
        s_family_header (out, "process_cpu_seconds_total", "user and system CPU time spent, in seconds", "counter");
        qy_buf_printf (out, "process_cpu_seconds_total %.2f\n", (double) (utime + stime) / (double) tick);
        s_family_header (out, "process_resident_memory_bytes", "resident memory size, in bytes", "gauge");
        qy_buf_printf (out, "process_resident_memory_bytes %lld\n", rss * page);
    }
    DIR *d = opendir ("/proc/self/fd");
    if (d) {
        long fds = 0;
        for (struct dirent *e; (e = readdir (d)); )
            fds += e->d_name [0] != '.';
        closedir (d);
        s_family_header (out, "process_open_fds", "open file descriptors", "gauge");
        qy_buf_printf (out, "process_open_fds %ld\n", fds - 1);   //  less the one reading the folder
    }
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        s_family_header (out, "process_max_fds", "limit on open file descriptors", "gauge");
        qy_buf_printf (out, "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
    }
    s_family_header (out, "process_start_time_seconds", "start time of the process since the Unix epoch, in seconds", "gauge");
    qy_buf_printf (out, "process_start_time_seconds %.3f\n", (double) s_start_wall.tv_sec + s_start_wall.tv_nsec / 1e9);
}

void qy_metrics_render (qy_buf_t *out)
{
    static const char *types [] = { "counter", "counter", "gauge", "histogram" };
    pthread_mutex_lock (&s_lock);
    int n = atomic_load (&s_nmetrics);
    bool *done = qy_calloc ((size_t) n + 1, sizeof (bool));
    //  Families in the order first registered, each whole under one header.
    for (int i = 0; i < n; i++) {
        if (done [i])
            continue;
        s_family_header (out, s_metrics [i].base, s_metrics [i].help, types [s_metrics [i].type]);
        for (int j = i; j < n; j++)
            if (!done [j] && strcmp (s_metrics [j].base, s_metrics [i].base) == 0) {
                s_render_one (out, &s_metrics [j]);
                done [j] = true;
            }
    }
    free (done);
    pthread_mutex_unlock (&s_lock);
    s_render_process (out);
    s_family_header (out, "qy_build_info", "the build: version and source commit (always 1)", "gauge");
    qy_buf_puts (out, "qy_build_info{version=\"");
    s_escape (out, QY_VERSION, strlen (QY_VERSION), true);
    qy_buf_puts (out, "\",commit=\"");
    s_escape (out, QY_COMMIT, strlen (QY_COMMIT), true);
    qy_buf_puts (out, "\"} 1\n");
}

const char *qy_build_version (void) { return QY_VERSION; }
const char *qy_build_commit (void)  { return QY_COMMIT; }

double qy_uptime_s (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - s_start_mono.tv_sec) + (double) (now.tv_nsec - s_start_mono.tv_nsec) / 1e9;
}
