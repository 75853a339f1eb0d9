#include "qy/util.h"
#include "qy/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <utf8proc.h>

int64_t qy_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t qy_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void qy_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

size_t qy_fmt_i64 (char *buf, int64_t v)
{
    char tmp [24];
    size_t n = 0;
    //  Through the unsigned value, so INT64_MIN has its digits too.
    uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
    do
        tmp [n++] = (char) ('0' + u % 10);
    while ((u /= 10));
    size_t len = 0;
    if (v < 0)
        buf [len++] = '-';
    while (n)
        buf [len++] = tmp [--n];
    buf [len] = '\0';
    return len;
}

void qy_cat (char *dst, size_t size, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    for (const char *part [] = { a, b, c }, **p = part; p < part + 3; p++)
        for (const char *s = *p; *s && n + 1 < size; s++)
            dst [n++] = *s;
    dst [n] = '\0';
}

bool qy_chore_due (int64_t now_us, int64_t due_us, bool idle, int64_t grace_us)
{
    return now_us >= due_us && (idle || now_us - due_us >= grace_us);
}

void qy_process_owner (char *buf, size_t size)
{
    char host [40] = "";
    gethostname (host, sizeof (host) - 1);
    qy_snprintf (buf, size, "%s:%ld", host, (long) getpid ());
}

//  Out of memory is not something a service can recover from sensibly;
//  dying loudly beats limping on with half-built state.
static void s_oom (size_t size)
{
    qy_log_error ("out of memory bytes=%zu", size);
    abort ();
}

void *qy_malloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

void *qy_calloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p)
        s_oom (n * size);
    return p;
}

void *qy_realloc (void *p, size_t size)
{
    void *q = realloc (p, size ? size : 1);
    if (!q)
        s_oom (size);
    return q;
}

char *qy_strdup (const char *s)
{
    return qy_strndup (s, strlen (s));
}

char *qy_strndup (const char *s, size_t n)
{
    char *d = qy_malloc (n + 1);
    memcpy (d, s, n);
    d [n] = 0;
    return d;
}

char *qy_printf (const char *fmt, ...)
{
    qy_buf_t b;
    qy_buf_init (&b);
    va_list ap;
    va_start (ap, fmt);
    qy_buf_vprintf (&b, fmt, ap);
    va_end (ap);
    return b.data;
}

size_t qy_strlcpy (char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen (src);
    if (dstlen) {
        size_t c = n < dstlen - 1 ? n : dstlen - 1;
        memcpy (dst, src, c);
        dst [c] = 0;
    }
    return n;
}

size_t qy_snprintf (char *dst, size_t dstlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (dst, dstlen, fmt, ap);
    va_end (ap);
    if (n < 0)
        n = 0;
    return (size_t) n < dstlen ? (size_t) n : (dstlen ? dstlen - 1 : 0);
}

void qy_buf_init (qy_buf_t *b)
{
    b->cap = 256;
    b->len = 0;
    b->data = qy_malloc (b->cap);
    b->data [0] = 0;
}

void qy_buf_free (qy_buf_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void qy_buf_reset (qy_buf_t *b)
{
    b->len = 0;
    b->data [0] = 0;
}

static void s_reserve (qy_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    while (b->len + extra + 1 > b->cap)
        b->cap *= 2;
    b->data = qy_realloc (b->data, b->cap);
}

void qy_buf_append (qy_buf_t *b, const void *data, size_t len)
{
    s_reserve (b, len);
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data [b->len] = 0;
}

void qy_buf_puts (qy_buf_t *b, const char *s)
{
    qy_buf_append (b, s, strlen (s));
}

void qy_buf_vprintf (qy_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy (ap2, ap);
    int n = vsnprintf (b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t) n >= b->cap - b->len) {
        s_reserve (b, (size_t) n);
        vsnprintf (b->data + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end (ap2);
    if (n > 0)
        b->len += (size_t) n;
}

void qy_buf_printf (qy_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qy_buf_vprintf (b, fmt, ap);
    va_end (ap);
}

void qy_buf_pg_array_elem (qy_buf_t *b, const char *s)
{
    qy_buf_append (b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            qy_buf_append (b, "\\", 1);
        qy_buf_append (b, p, 1);
    }
    qy_buf_append (b, "\"", 1);
}

void qy_buf_hex (qy_buf_t *b, const void *data, size_t len)
{
    static const char digits [] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        char two [2] = { digits [p [i] >> 4], digits [p [i] & 15] };
        qy_buf_append (b, two, 2);
    }
}

void qy_buf_json_str (qy_buf_t *b, const char *s)
{
    qy_buf_append (b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        switch (*p) {
            case '"':  qy_buf_puts (b, "\\\""); break;
            case '\\': qy_buf_puts (b, "\\\\"); break;
            case '\n': qy_buf_puts (b, "\\n"); break;
            case '\r': qy_buf_puts (b, "\\r"); break;
            case '\t': qy_buf_puts (b, "\\t"); break;
            default:
                if (*p < 0x20)
                    qy_buf_printf (b, "\\u%04x", *p);
                else
                    qy_buf_append (b, p, 1);
        }
    }
    qy_buf_append (b, "\"", 1);
}

uint64_t qy_hash64 (const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p [i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct qy_map_t {
    char   **keys;
    int64_t *values;
    size_t   cap;
    size_t   size;
};

qy_map_t *qy_map_new (void)
{
    qy_map_t *self = qy_calloc (1, sizeof (*self));
    self->cap = 64;
    self->keys = qy_calloc (self->cap, sizeof (char *));
    self->values = qy_calloc (self->cap, sizeof (int64_t));
    return self;
}

void qy_map_clear (qy_map_t *self)
{
    for (size_t i = 0; i < self->cap; i++) {
        free (self->keys [i]);
        self->keys [i] = NULL;
    }
    self->size = 0;
}

void qy_map_destroy (qy_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_map_t *self = *self_p;
    qy_map_clear (self);
    free (self->keys);
    free (self->values);
    free (self);
    *self_p = NULL;
}

static size_t s_slot (qy_map_t *self, const char *key)
{
    size_t i = qy_hash64 (key, strlen (key)) & (self->cap - 1);
    while (self->keys [i] && strcmp (self->keys [i], key) != 0)
        i = (i + 1) & (self->cap - 1);
    return i;
}

bool qy_map_get (qy_map_t *self, const char *key, int64_t *value)
{
    size_t i = s_slot (self, key);
    if (!self->keys [i])
        return false;
    if (value)
        *value = self->values [i];
    return true;
}

void qy_map_put (qy_map_t *self, const char *key, int64_t value)
{
    if ((self->size + 1) * 2 > self->cap) {
        qy_map_t grown = { qy_calloc (self->cap * 2, sizeof (char *)),
                           qy_calloc (self->cap * 2, sizeof (int64_t)), self->cap * 2, 0 };
        for (size_t i = 0; i < self->cap; i++)
            if (self->keys [i]) {
                size_t j = s_slot (&grown, self->keys [i]);
                grown.keys [j] = self->keys [i];
                grown.values [j] = self->values [i];
                grown.size++;
            }
        free (self->keys);
        free (self->values);
        *self = grown;
    }
    size_t i = s_slot (self, key);
    if (!self->keys [i]) {
        self->keys [i] = qy_strdup (key);
        self->size++;
    }
    self->values [i] = value;
}

size_t qy_group_by_key (const char *const *keys, size_t n, size_t *order, size_t *start)
{
    size_t *group = qy_calloc (n + 1, sizeof (*group)), *filled = qy_calloc (n + 1, sizeof (*filled));
    qy_map_t *groups = qy_map_new ();
    size_t ngroups = 0;
    start [0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keys [i])
            continue;
        int64_t g;
        if (!qy_map_get (groups, keys [i], &g)) {
            g = (int64_t) ngroups++;
            qy_map_put (groups, keys [i], g);
            start [g + 1] = 0;
        }
        group [i] = (size_t) g;
        start [g + 1]++;
    }
    for (size_t g = 0; g < ngroups; g++)
        start [g + 1] += start [g];
    for (size_t i = 0; i < n; i++)
        if (keys [i])
            order [start [group [i]] + filled [group [i]]++] = i;
    qy_map_destroy (&groups);
    free (filled);
    free (group);
    return ngroups;
}

size_t qy_map_size (qy_map_t *self)
{
    return self->size;
}

//  Floor division, so instants before 1970 land in the right day and hour.
static int64_t s_floordiv (int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t qy_day_of (int64_t t_us, int tz_offset_min)
{
    int64_t s = s_floordiv (t_us, 1000000) + (int64_t) tz_offset_min * 60;
    return (int32_t) s_floordiv (s, 86400);
}

int qy_hour_of (int64_t t_us, int tz_offset_min)
{
    int64_t s = s_floordiv (t_us, 1000000) + (int64_t) tz_offset_min * 60;
    return (int) ((s - s_floordiv (s, 86400) * 86400) / 3600);
}

void qy_day_format (int32_t day, char *buf, size_t len, bool compact)
{
    time_t t = (time_t) day * 86400;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (buf, len, compact ? "%Y%m%d" : "%Y-%m-%d", &tm);
}

bool qy_utf8_valid (const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *) s;
    utf8proc_ssize_t left = (utf8proc_ssize_t) strlen (s);
    utf8proc_int32_t cp;
    while (left > 0) {
        if (*p < 0x80) {         //  ASCII: the common case, no call
            p++, left--;
            continue;
        }
        utf8proc_ssize_t n = utf8proc_iterate (p, left, &cp);
        if (n <= 0)
            return false;
        p += n, left -= n;
    }
    return true;
}

char *qy_utf8_prefix (const char *s, size_t max)
{
    size_t n = strnlen (s, max);
    if (s [n])                   //  cut: step back over continuation bytes
        while (n && ((unsigned char) s [n] & 0xC0) == 0x80)
            n--;
    return qy_strndup (s, n);
}

bool qy_buf_read_stream (qy_buf_t *b, FILE *f)
{
    char chunk [65536];
    size_t n;
    while ((n = fread (chunk, 1, sizeof (chunk), f)) > 0)
        qy_buf_append (b, chunk, n);
    return !ferror (f);
}

bool qy_buf_read_file (qy_buf_t *b, const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return false;
    bool ok = qy_buf_read_stream (b, f);
    fclose (f);
    return ok;
}
