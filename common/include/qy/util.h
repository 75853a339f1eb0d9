//  Small helpers every Qunyun file uses: time, memory that aborts on
//  exhaustion (so callers never test for NULL), bounded strings and a
//  growable byte buffer.
#ifndef QY_UTIL_H
#define QY_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define QY_ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

//  Wall clock, unix microseconds.
int64_t qy_now_us (void);
//  Monotonic clock, microseconds.
int64_t qy_mono_us (void);
void qy_sleep_ms (int ms);
//  Housekeeping that shares a thread with a stream of work (restores,
//  sweeps of what is overdue): due at due_us, it waits for a moment with
//  nothing to do, so that the work arriving is not held behind it, but at
//  most grace_us past due, so a stage that is never idle still does it.
bool qy_chore_due (int64_t now_us, int64_t due_us, bool idle, int64_t grace_us);
//  "host:pid" into buf: who holds a lease or lock shared by replicas that
//  may run on several machines.
void qy_process_owner (char *buf, size_t size);

void *qy_malloc (size_t size);
void *qy_calloc (size_t n, size_t size);
void *qy_realloc (void *p, size_t size);
char *qy_strdup (const char *s);
char *qy_strndup (const char *s, size_t n);
//  Caller owns the returned string.
char *qy_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  v in decimal into buf (room for 24); returns its length. What "%lld"
//  writes, without printf: keys and numbers built per event.
size_t qy_fmt_i64 (char *buf, int64_t v);
//  dst = a b c, cut to fit size (keys and fields without printf).
void qy_cat (char *dst, size_t size, const char *a, const char *b, const char *c);
//  Copy src into dst of size dstlen, always terminated. Returns strlen(src).
size_t qy_strlcpy (char *dst, const char *src, size_t dstlen);
//  snprintf that never overflows; returns bytes written (truncated).
size_t qy_snprintf (char *dst, size_t dstlen, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

//  A growable byte buffer, always NUL-terminated.
typedef struct {
    char  *data;
    size_t len;
    size_t cap;
} qy_buf_t;
void qy_buf_init (qy_buf_t *b);
void qy_buf_free (qy_buf_t *b);
void qy_buf_reset (qy_buf_t *b);
void qy_buf_append (qy_buf_t *b, const void *data, size_t len);
void qy_buf_puts (qy_buf_t *b, const char *s);
void qy_buf_printf (qy_buf_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void qy_buf_vprintf (qy_buf_t *b, const char *fmt, va_list ap);
//  Append s as a PostgreSQL array element (double-quoted, escaped).
void qy_buf_pg_array_elem (qy_buf_t *b, const char *s);
//  Append s as a JSON string (quoted, escaped).
void qy_buf_json_str (qy_buf_t *b, const char *s);
//  Append len bytes as lower-case hex digits.
void qy_buf_hex (qy_buf_t *b, const void *data, size_t len);

//  Append everything left in f (a file opened for reading, binary). Returns
//  false on a read error.
bool qy_buf_read_stream (qy_buf_t *b, FILE *f);
//  Append the whole file at path. Returns false when it cannot be opened
//  or read.
bool qy_buf_read_file (qy_buf_t *b, const char *path);
//  FNV-1a 64-bit hash.
uint64_t qy_hash64 (const void *data, size_t len);

//  A string → int64 map with open addressing; keys are copied.
typedef struct qy_map_t qy_map_t;
qy_map_t *qy_map_new (void);
void qy_map_destroy (qy_map_t **self_p);
bool qy_map_get (qy_map_t *self, const char *key, int64_t *value);
void qy_map_put (qy_map_t *self, const char *key, int64_t value);
size_t qy_map_size (qy_map_t *self);
void qy_map_clear (qy_map_t *self);
//  Group items 0..n-1 by keys [i] (NULL: the item is left out), e.g. a
//  batch's Redis calls by hash tag: group g holds the items
//  order [start [g] .. start [g + 1]) in their own order, the groups in
//  the order of their first item. order has room for n, start for n + 1.
//  Returns the number of groups.
size_t qy_group_by_key (const char *const *keys, size_t n, size_t *order, size_t *start);

//  True when s is well-formed UTF-8 (what PostgreSQL and JSON accept).
bool qy_utf8_valid (const char *s);
//  A copy of s cut to at most max bytes without splitting a character;
//  invalid sequences inside the kept part are left to qy_utf8_valid.
char *qy_utf8_prefix (const char *s, size_t max);

//  Day number (days since 1970-01-01) of a unix-µs instant at a UTC offset.
int32_t qy_day_of (int64_t t_us, int tz_offset_min);
//  Hour of day 0..23 of a unix-µs instant at a UTC offset.
int qy_hour_of (int64_t t_us, int tz_offset_min);
//  Format a day number as YYYY-MM-DD (buf ≥ 11) or YYYYMMDD (compact).
void qy_day_format (int32_t day, char *buf, size_t len, bool compact);
#endif
