//  Structured logging: one line per fact, key=value, always with the
//  event id and brand where there is one. Lines go to stderr, which is
//  what docker and systemd collect.
#ifndef QY_LOG_H
#define QY_LOG_H

typedef enum { QY_LOG_DEBUG, QY_LOG_INFO, QY_LOG_WARN, QY_LOG_ERROR } qy_log_level_t;

//  Set the service name written on every line and the lowest level shown.
void qy_log_init (const char *service, const char *level);
void qy_log_set_level (qy_log_level_t level);
qy_log_level_t qy_log_level (void);
void qy_log (qy_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define qy_log_debug(...) do { if (qy_log_level () <= QY_LOG_DEBUG) qy_log (QY_LOG_DEBUG, __VA_ARGS__); } while (0)
#define qy_log_info(...)  qy_log (QY_LOG_INFO, __VA_ARGS__)
#define qy_log_warn(...)  qy_log (QY_LOG_WARN, __VA_ARGS__)
#define qy_log_error(...) qy_log (QY_LOG_ERROR, __VA_ARGS__)
#endif
