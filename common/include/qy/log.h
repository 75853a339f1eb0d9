//  Structured logging: one record per line, to stderr (what docker and
//  systemd collect), as logfmt or as one JSON object, with the same keys:
//
//    ts=2026-12-06T04:20:00.123Z level=info svc=moderation msg="member muted" msg_id=m1 brand=acme minutes=1440
//    {"ts":"2026-12-06T04:20:00.123Z","level":"info","svc":"moderation","msg":"member muted","msg_id":"m1","brand":"acme","minutes":1440}
//
//  A call site writes one printf format of words and key=value pairs:
//
//    qy_log_info ("member muted msg_id=%s brand=%s minutes=%d", id, brand, 1440);
//
//  The words (with any conversions among them) become the one human
//  msg="…"; each key=value pair becomes a field whose value is formatted
//  on its own and escaped by qy_log_value (logfmt) or as a JSON string, so
//  no value (a nickname, a gateway's error, a PostgreSQL message) can
//  split a record, forge a key or break the quoting. A value template may
//  be quoted in the format (error="%s"); the quotes are the format's, not
//  the value's. Keys are lower case; msg_id is the message id, brand the
//  brand's code. docs/operations.md § Logs lists the keys.
#ifndef QY_LOG_H
#define QY_LOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { QY_LOG_DEBUG, QY_LOG_INFO, QY_LOG_WARN, QY_LOG_ERROR } qy_log_level_t;
typedef enum { QY_LOG_LOGFMT, QY_LOG_JSON } qy_log_format_t;

//  A record longer than this is cut, at a whole escape, its quoting closed.
#define QY_LOG_LINE_MAX 2048

//  Set the service name written on every line and the lowest level shown
//  (debug|info|warn|error; NULL or another word keeps the current one).
void qy_log_init (const char *service, const char *level);
void qy_log_set_level (qy_log_level_t level);
qy_log_level_t qy_log_level (void);
//  logfmt (the default) or json; NULL or another word keeps the current.
void qy_log_set_format (const char *format);
void qy_log (qy_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  Write value as one logfmt value into dst (cap >= 3): bare when it is
//  made of printable non-space characters other than " = \, else quoted,
//  with \" \\ \n \r \t and \xNN for other control bytes. Cut at a whole
//  escape when dst is short, still quoted. Returns the length written.
size_t qy_log_value (char *dst, size_t cap, const char *value);
//  Write value as a JSON string ("…", UTF-8; a byte that is not UTF-8
//  becomes U+FFFD) into dst (cap >= 3), cut at a whole escape. Returns
//  the length written.
size_t qy_log_json_string (char *dst, size_t cap, const char *value);

//  A line written for what others send (a scanner's refused requests, a
//  gateway retrying with a bad key, a peer that repeats itself) must not
//  let them fill the disk: such a call site writes at most
//  QY_LOG_LIMIT_BURST lines per QY_LOG_LIMIT_PERIOD_MS, and each line it
//  writes says how many it left out since the last (unlogged_before=N).
//  What is left out is still counted where it matters (the metrics, the
//  dead letters); the last count comes with the site's next line.
#define QY_LOG_LIMIT_BURST     10
#define QY_LOG_LIMIT_PERIOD_MS 10000
typedef struct {
    bool     started;
    int64_t  window_ms;     //  when the current window began
    unsigned written;       //  lines written in it
    unsigned unlogged;      //  lines left out since the last written
} qy_log_limit_t;
//  Whether a line at now_ms may be written under l (at most burst per
//  period_ms, fixed windows); if so *unlogged is how many were left out
//  before it, and the count starts again. Pure.
bool qy_log_limit_decide (qy_log_limit_t *l, int64_t now_ms, unsigned burst, int64_t period_ms, unsigned *unlogged);
//  qy_log_limit_decide now, with the defaults; safe from any thread.
bool qy_log_limit_take (qy_log_limit_t *l, unsigned *unlogged);
//  qy_log under a limit of its own call site; fmt is a string literal
//  and at least one argument follows it.
#define qy_log_limited(level, fmt, ...) do {                                                        \
    static qy_log_limit_t qy_log_limit_;                                                           \
    unsigned qy_log_unlogged_;                                                                     \
    if (qy_log_level () <= (level) && qy_log_limit_take (&qy_log_limit_, &qy_log_unlogged_))       \
        qy_log ((level), fmt " unlogged_before=%u", __VA_ARGS__, qy_log_unlogged_);                \
} while (0)

#define qy_log_debug(...) do { if (qy_log_level () <= QY_LOG_DEBUG) qy_log (QY_LOG_DEBUG, __VA_ARGS__); } while (0)
#define qy_log_info(...)  qy_log (QY_LOG_INFO, __VA_ARGS__)
#define qy_log_warn(...)  qy_log (QY_LOG_WARN, __VA_ARGS__)
#define qy_log_error(...) qy_log (QY_LOG_ERROR, __VA_ARGS__)
#endif
