#include "qy/log.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static char s_service [32] = "qunyun";
static qy_log_level_t s_level = QY_LOG_INFO;
static const char *s_names [] = { "debug", "info", "warn", "error" };

void qy_log_init (const char *service, const char *level)
{
    qy_strlcpy (s_service, service, sizeof (s_service));
    for (int i = 0; level && i < 4; i++)
        if (strcmp (level, s_names [i]) == 0)
            s_level = (qy_log_level_t) i;
    setvbuf (stderr, NULL, _IOLBF, 0);
}

void qy_log_set_level (qy_log_level_t level)
{
    s_level = level;
}

qy_log_level_t qy_log_level (void)
{
    return s_level;
}

void qy_log (qy_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    char line [2048];
    int64_t now = qy_now_us ();
    time_t t = (time_t) (now / 1000000);
    struct tm tm;
    gmtime_r (&t, &tm);
    size_t n = strftime (line, sizeof (line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += qy_snprintf (line + n, sizeof (line) - n, ".%03dZ level=%s svc=%s ",
                      (int) (now / 1000 % 1000), s_names [level], s_service);
    va_list ap;
    va_start (ap, fmt);
    int m = vsnprintf (line + n, sizeof (line) - n, fmt, ap);
    va_end (ap);
    if (m < 0)
        m = 0;
    n = n + (size_t) m < sizeof (line) - 2 ? n + (size_t) m : sizeof (line) - 2;
    line [n++] = '\n';
    line [n] = 0;
    fputs (line, stderr);
}
