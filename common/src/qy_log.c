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

//  Copy the formatted fact into dst, control characters escaped (\n, \r,
//  \t, \xNN), so a value holding a line break (a gateway's text, a
//  PostgreSQL error) can never split one record into two lines or forge
//  one. Returns the length written; cuts at a whole escape.
static size_t s_escape_controls (char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) src; *p; p++) {
        char esc [5] = { (char) *p, 0 };
        if (*p == '\n' || *p == '\r' || *p == '\t')
            qy_snprintf (esc, sizeof (esc), "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else
        if (*p < 0x20 || *p == 0x7f)
            qy_snprintf (esc, sizeof (esc), "\\x%02x", *p);
        size_t len = strlen (esc);
        if (n + len >= cap)
            break;
        memcpy (dst + n, esc, len);
        n += len;
    }
    dst [n] = 0;
    return n;
}

void qy_log (qy_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    char line [2048], fact [2048];
    int64_t now = qy_now_us ();
    time_t t = (time_t) (now / 1000000);
    struct tm tm;
    gmtime_r (&t, &tm);
    size_t n = strftime (line, sizeof (line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += qy_snprintf (line + n, sizeof (line) - n, ".%03dZ level=%s svc=%s ",
                      (int) (now / 1000 % 1000), s_names [level], s_service);
    va_list ap;
    va_start (ap, fmt);
    if (vsnprintf (fact, sizeof (fact), fmt, ap) < 0)
        fact [0] = 0;
    va_end (ap);
    n += s_escape_controls (line + n, sizeof (line) - n - 1, fact);
    line [n++] = '\n';
    line [n] = 0;
    fputs (line, stderr);
}
