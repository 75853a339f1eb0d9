//  One record per line, logfmt or JSON (qy/log.h). The call site's format
//  is read word by word: key=value words become fields, each value
//  formatted alone and escaped, the other words become the human msg.
#include "qy/log.h"
#include "qy/util.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <utf8proc.h>

static char s_service [32] = "qunyun";
static qy_log_level_t s_level = QY_LOG_INFO;
static qy_log_format_t s_format = QY_LOG_LOGFMT;
static const char *s_names [] = { "debug", "info", "warn", "error" };
static const char *s_reserved [] = { "ts", "level", "svc", "msg" };

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

void qy_log_set_format (const char *format)
{
    if (format && strcmp (format, "json") == 0)
        s_format = QY_LOG_JSON;
    else
    if (format && strcmp (format, "logfmt") == 0)
        s_format = QY_LOG_LOGFMT;
}

// ------------------------------------------------------------ escaping

size_t qy_log_value (char *dst, size_t cap, const char *value)
{
    if (cap < 3) {
        if (cap)
            dst [0] = 0;
        return 0;
    }
    bool quote = !*value;
    for (const unsigned char *p = (const unsigned char *) value; *p && !quote; p++)
        quote = *p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f;
    size_t n = 0;
    if (!quote) {
        n = strlen (value);
        if (n >= cap)           //  cut on a UTF-8 boundary
            for (n = cap - 1; n > 0 && ((unsigned char) value [n] & 0xC0) == 0x80; n--)
                ;
        memcpy (dst, value, n);
        dst [n] = 0;
        return n;
    }
    dst [n++] = '"';
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        char esc [5] = { (char) *p, 0 };
        if (*p == '"' || *p == '\\')
            qy_snprintf (esc, sizeof (esc), "\\%c", *p);
        else
        if (*p == '\n' || *p == '\r' || *p == '\t')
            qy_snprintf (esc, sizeof (esc), "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else
        if (*p < 0x20 || *p == 0x7f)
            qy_snprintf (esc, sizeof (esc), "\\x%02x", *p);
        size_t len = strlen (esc);
        if (n + len + 2 > cap)  //  room for the closing quote and the NUL
            break;
        memcpy (dst + n, esc, len);
        n += len;
    }
    dst [n++] = '"';
    dst [n] = 0;
    return n;
}

size_t qy_log_json_string (char *dst, size_t cap, const char *value)
{
    if (cap < 3) {
        if (cap)
            dst [0] = 0;
        return 0;
    }
    size_t n = 0, left = strlen (value);
    dst [n++] = '"';
    for (const unsigned char *p = (const unsigned char *) value; *p; ) {
        char esc [8];
        size_t len = 1, used = 1;
        if (*p == '"' || *p == '\\')
            len = qy_snprintf (esc, sizeof (esc), "\\%c", *p);
        else
        if (*p == '\n' || *p == '\r' || *p == '\t')
            len = qy_snprintf (esc, sizeof (esc), "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else
        if (*p < 0x20 || *p == 0x7f)
            len = qy_snprintf (esc, sizeof (esc), "\\u%04x", *p);
        else
        if (*p >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate (p, (utf8proc_ssize_t) left, &cp);
            if (k > 0)
                memcpy (esc, p, (size_t) (len = used = (size_t) k));
            else
                len = qy_snprintf (esc, sizeof (esc), "\\ufffd");
        }
        else
            esc [0] = (char) *p;
        if (n + len + 2 > cap)
            break;
        memcpy (dst + n, esc, len);
        n += len;
        p += used;
        left -= used;
    }
    dst [n++] = '"';
    dst [n] = 0;
    return n;
}

// ----------------------------------------------------- reading the format

//  Format the one conversion at *fmtp (just past its '%') from ap into dst,
//  and move *fmtp past it. *text tells a string, character or pointer from
//  a number (JSON writes numbers bare).
static size_t s_conversion (const char **fmtp, va_list *ap, char *dst, size_t cap, bool *text)
{
    const char *p = *fmtp;
    char spec [48] = "%";
    size_t n = 1;
    while (*p && strchr ("-+ #0'", *p) && n < 8)
        spec [n++] = *p++;
    if (*p == '*') {
        n += qy_snprintf (spec + n, sizeof (spec) - n, "%d", va_arg (*ap, int));
        p++;
    }
    while (*p >= '0' && *p <= '9' && n < 20)
        spec [n++] = *p++;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            int prec = va_arg (*ap, int);
            if (prec >= 0)      //  a negative precision is taken as omitted
                n += qy_snprintf (spec + n, sizeof (spec) - n, ".%d", prec);
            p++;
        }
        else {
            spec [n++] = '.';
            while (*p >= '0' && *p <= '9' && n < 34)
                spec [n++] = *p++;
        }
    }
    char len [3] = "";
    for (size_t k = 0; *p && strchr ("hlLqjzt", *p) && k < 2; k++)
        len [k] = spec [n++] = *p++;
    char c = *p ? *p++ : 0;
    spec [n++] = c;
    spec [n] = 0;
    *fmtp = p;
    int rc = -1;
    *text = strchr ("scp", c) != NULL;
    switch (c) {
        case 'd': case 'i':
            if (!strcmp (len, "l"))        rc = snprintf (dst, cap, spec, va_arg (*ap, long));
            else if (!strcmp (len, "ll") || !strcmp (len, "q"))
                                           rc = snprintf (dst, cap, spec, va_arg (*ap, long long));
            else if (!strcmp (len, "j"))   rc = snprintf (dst, cap, spec, va_arg (*ap, intmax_t));
            else if (!strcmp (len, "z"))   rc = snprintf (dst, cap, spec, va_arg (*ap, ssize_t));
            else if (!strcmp (len, "t"))   rc = snprintf (dst, cap, spec, va_arg (*ap, ptrdiff_t));
            else                           rc = snprintf (dst, cap, spec, va_arg (*ap, int));
            break;
        case 'u': case 'o': case 'x': case 'X':
            if (!strcmp (len, "l"))        rc = snprintf (dst, cap, spec, va_arg (*ap, unsigned long));
            else if (!strcmp (len, "ll") || !strcmp (len, "q"))
                                           rc = snprintf (dst, cap, spec, va_arg (*ap, unsigned long long));
            else if (!strcmp (len, "j"))   rc = snprintf (dst, cap, spec, va_arg (*ap, uintmax_t));
            else if (!strcmp (len, "z"))   rc = snprintf (dst, cap, spec, va_arg (*ap, size_t));
            else if (!strcmp (len, "t"))   rc = snprintf (dst, cap, spec, va_arg (*ap, ptrdiff_t));
            else                           rc = snprintf (dst, cap, spec, va_arg (*ap, unsigned));
            break;
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
            if (!strcmp (len, "L"))        rc = snprintf (dst, cap, spec, va_arg (*ap, long double));
            else                           rc = snprintf (dst, cap, spec, va_arg (*ap, double));
            break;
        case 'c':                          rc = snprintf (dst, cap, spec, va_arg (*ap, int)); break;
        case 'p':                          rc = snprintf (dst, cap, spec, va_arg (*ap, void *)); break;
        case 's': {
            const char *s = va_arg (*ap, const char *);
            rc = snprintf (dst, cap, spec, s ? s : "(null)");
            break;
        }
        case 'n':                          (void) va_arg (*ap, int *); rc = 0; break;
        default:                           rc = snprintf (dst, cap, "%%%c", c ? c : ' '); break;
    }
    if (rc < 0)
        rc = 0;
    return (size_t) rc < cap ? (size_t) rc : cap - 1;
}

//  Format the template t (len bytes of the format) into dst (cap >= 1).
//  *text is set when a conversion in it writes text.
static size_t s_template (const char *t, size_t len, va_list *ap, char *dst, size_t cap, bool *text)
{
    size_t n = 0;
    const char *end = t + len;
    *text = false;
    while (t < end) {
        if (*t == '%' && t + 1 < end && t [1] != '%') {
            //  Past a full dst the conversion is still read, into scratch,
            //  so the arguments after it stay in step.
            char scratch [2];
            bool room = n + 1 < cap, is_text;
            t++;
            size_t k = s_conversion (&t, ap, room ? dst + n : scratch, room ? cap - n : sizeof (scratch), &is_text);
            n += room ? k : 0;
            *text |= is_text;
        }
        else {
            char c = *t;
            t += *t == '%' && t + 1 < end ? 2 : 1;
            if (n + 1 < cap)
                dst [n++] = c;
        }
    }
    dst [n] = 0;
    return n;
}

//  Length of the conversion spec at p (p [0] == '%'), to its letter.
static size_t s_spec_len (const char *p)
{
    size_t n = 1;
    while (p [n] && strchr ("-+ #0'*.0123456789hlLqjzt", p [n]))
        n++;
    return p [n] ? n + 1 : n;
}

//  Length of the key at the start of word (letters, digits, _ . - and
//  conversions), if '=' follows it; else 0 (the word is prose).
static size_t s_key_len (const char *w)
{
    size_t n = 0;
    for (;;) {
        char c = w [n];
        if (c == '%' && w [n + 1] != '%')
            n += s_spec_len (w + n);
        else
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '_' || c == '.' || c == '-')
            n++;
        else
            return c == '=' && n > 0 ? n : 0;
    }
}

// ------------------------------------------------------------ the record

#define S_FIELDS_MAX 32

typedef struct {
    size_t key, value;          //  offsets into the arena
    bool   number;              //  a bare JSON number
} s_field_t;

typedef struct {
    char      msg [QY_LOG_LINE_MAX];
    size_t    msg_len;
    char      arena [QY_LOG_LINE_MAX * 2];
    size_t    used;
    s_field_t fields [S_FIELDS_MAX];
    size_t    n;
} s_record_t;

//  Whether s is a JSON number, so JSON can write it bare.
static bool s_json_number (const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else
    if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

//  Format len bytes of template into the arena; returns its offset.
static size_t s_arena (s_record_t *r, const char *t, size_t len, va_list *ap, bool *text)
{
    size_t at = r->used;
    r->used += s_template (t, len, ap, r->arena + at, sizeof (r->arena) - at, text) + 1;
    if (r->used > sizeof (r->arena) - 1)
        r->used = sizeof (r->arena) - 1;
    return at;
}

//  The field whose key starts word (klen bytes); returns the bytes of the
//  format it spans. A value template in quotes ends at the closing quote.
static size_t s_field (s_record_t *r, const char *w, size_t klen, va_list *ap)
{
    bool text;
    const char *v = w + klen + 1;
    size_t vlen = 0, span;
    if (*v == '"') {
        v++;
        while (v [vlen] && !(v [vlen] == '"' && (vlen == 0 || v [vlen - 1] != '\\')))
            vlen++;
        span = klen + 2 + vlen + (v [vlen] == '"');
    }
    else {
        while (v [vlen] && v [vlen] != ' ')
            vlen++;
        span = klen + 1 + vlen;
    }
    s_field_t f;
    f.key = s_arena (r, w, klen, ap, &text);
    for (char *k = r->arena + f.key; *k; k++)   //  a key formatted from a value stays a key
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '.' || *k == '-'))
            *k = *k >= 'A' && *k <= 'Z' ? (char) (*k - 'A' + 'a') : '_';
    f.value = s_arena (r, v, vlen, ap, &text);
    f.number = !text && s_json_number (r->arena + f.value);
    if (r->n < S_FIELDS_MAX)
        r->fields [r->n++] = f;
    return span;
}

//  Read fmt word by word into r: key=value words are fields, the others
//  (formatted) join the human message.
static void s_read (s_record_t *r, const char *fmt, va_list *ap)
{
    const char *w = fmt;
    while (*w) {
        if (*w == ' ') {
            w++;
            continue;
        }
        size_t klen = s_key_len (w);
        if (klen) {
            w += s_field (r, w, klen, ap);
            continue;
        }
        size_t len = 0;
        while (w [len] && w [len] != ' ')
            len++;
        if (r->msg_len && r->msg_len + 2 < sizeof (r->msg))
            r->msg [r->msg_len++] = ' ';
        bool text;
        r->msg_len += s_template (w, len, ap, r->msg + r->msg_len, sizeof (r->msg) - r->msg_len, &text);
        w += len;
    }
}

// ------------------------------------------------------------ rendering

typedef struct {
    char   buf [QY_LOG_LINE_MAX];
    size_t n;
} s_line_t;

#define S_LINE_END 2            //  what the record's end needs: "}" or "", "\n", NUL

static void s_put (s_line_t *l, const char *s)
{
    size_t len = strlen (s);
    if (l->n + len + S_LINE_END < sizeof (l->buf)) {
        memcpy (l->buf + l->n, s, len);
        l->n += len;
    }
}

//  Append one key and its value, or nothing when too little room is left.
static void s_put_field (s_line_t *l, const char *key, const char *value, bool number)
{
    size_t room = sizeof (l->buf) - l->n - S_LINE_END;
    if (room < strlen (key) + 8)
        return;
    if (s_format == QY_LOG_JSON) {
        l->buf [l->n++] = ',';
        l->n += qy_log_json_string (l->buf + l->n, sizeof (l->buf) - l->n - S_LINE_END, key);
        l->buf [l->n++] = ':';
        if (number)
            l->n += qy_log_value (l->buf + l->n, sizeof (l->buf) - l->n - S_LINE_END, value);
        else
            l->n += qy_log_json_string (l->buf + l->n, sizeof (l->buf) - l->n - S_LINE_END, value);
    }
    else {
        l->n += qy_snprintf (l->buf + l->n, room, " %s=", key);
        l->n += qy_log_value (l->buf + l->n, sizeof (l->buf) - l->n - S_LINE_END, value);
    }
}

void qy_log (qy_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    s_record_t r;
    r.msg [0] = 0;
    r.msg_len = r.used = r.n = 0;
    va_list ap;
    va_start (ap, fmt);
    s_read (&r, fmt, &ap);
    va_end (ap);

    char ts [40];
    int64_t now = qy_now_us ();
    time_t t = (time_t) (now / 1000000);
    struct tm tm;
    gmtime_r (&t, &tm);
    size_t k = strftime (ts, sizeof (ts), "%Y-%m-%dT%H:%M:%S", &tm);
    qy_snprintf (ts + k, sizeof (ts) - k, ".%03dZ", (int) (now / 1000 % 1000));

    s_line_t l = { .n = 0 };
    bool json = s_format == QY_LOG_JSON;
    if (json) {
        s_put (&l, "{\"ts\":\"");
        s_put (&l, ts);
        s_put (&l, "\",\"level\":\"");
        s_put (&l, s_names [level]);
        s_put (&l, "\"");
    }
    else {
        s_put (&l, "ts=");
        s_put (&l, ts);
        s_put (&l, " level=");
        s_put (&l, s_names [level]);
    }
    s_put_field (&l, "svc", s_service, false);
    s_put_field (&l, "msg", r.msg, false);
    for (size_t i = 0; i < r.n; i++) {
        //  A field named like the record's own keys would give a line two
        //  of them: it is written with _ after its name.
        const char *key = r.arena + r.fields [i].key;
        char renamed [72];
        for (size_t k = 0; k < QY_ARRAY_LEN (s_reserved); k++)
            if (strcmp (key, s_reserved [k]) == 0)
                key = (qy_snprintf (renamed, sizeof (renamed), "%s_", key), renamed);
        s_put_field (&l, key, r.arena + r.fields [i].value, r.fields [i].number);
    }
    if (json)
        l.buf [l.n++] = '}';
    l.buf [l.n++] = '\n';
    l.buf [l.n] = 0;
    fputs (l.buf, stderr);
}

// ------------------------------------------------------------ limits

bool qy_log_limit_decide (qy_log_limit_t *l, int64_t now_ms, unsigned burst, int64_t period_ms, unsigned *unlogged)
{
    if (!l->started || now_ms - l->window_ms >= period_ms || now_ms < l->window_ms) {
        l->started = true;
        l->window_ms = now_ms;
        l->written = 0;
    }
    if (l->written >= burst) {
        l->unlogged++;
        return false;
    }
    l->written++;
    *unlogged = l->unlogged;
    l->unlogged = 0;
    return true;
}

//  One lock for every limited site: they are taken only on lines a
//  caller wants bounded, never on a hot path.
static pthread_mutex_t s_limit_lock = PTHREAD_MUTEX_INITIALIZER;

bool qy_log_limit_take (qy_log_limit_t *l, unsigned *unlogged)
{
    pthread_mutex_lock (&s_limit_lock);
    bool ok = qy_log_limit_decide (l, qy_mono_us () / 1000, QY_LOG_LIMIT_BURST, QY_LOG_LIMIT_PERIOD_MS, unlogged);
    pthread_mutex_unlock (&s_limit_lock);
    return ok;
}
