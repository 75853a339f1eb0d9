//  The console's pure parts (console.h): roles, login backoff, query
//  parsing, highlighting, CSV and static paths. No I/O; unit-tested in
//  tests/unit/test_console_lib.c.
#include "console.h"
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; console_role_t role; } s_roles [] = {
    { "admin", CONSOLE_ADMIN }, { "hq", CONSOLE_HQ }, { "region", CONSOLE_REGION },
    { "store", CONSOLE_STORE }, { "reviewer", CONSOLE_REVIEWER },
};

console_role_t console_role_parse (const char *name)
{
    for (size_t i = 0; name && i < QY_ARRAY_LEN (s_roles); i++)
        if (strcmp (name, s_roles [i].name) == 0)
            return s_roles [i].role;
    return 0;
}

const char *console_role_name (console_role_t role)
{
    for (size_t i = 0; i < QY_ARRAY_LEN (s_roles); i++)
        if (s_roles [i].role == role)
            return s_roles [i].name;
    return "none";
}

bool console_token_role_ok (console_role_t have, console_role_t want)
{
    return want != 0 && (want == have || want == CONSOLE_REVIEWER);
}

long console_lockout_s (long failures, long threshold, long base_s, long cap_s)
{
    if (failures < threshold)
        return 0;
    long s = base_s;
    for (long i = threshold; i < failures && s < cap_s; i++)
        s *= 2;
    return s < cap_s ? s : cap_s;
}

int console_long_arg (const char *s, long def, long min, long max, long *out)
{
    if (!s || !*s) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (*end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

//  Sort keys the groups list accepts, and the SQL each stands for.
static const struct { const char *key, *sql; } s_sorts [] = {
    { "code", "g.code" }, { "name", "g.name" }, { "store", "s.code" }, { "health", "coalesce (gs.health, -1)" },
    { "size", "coalesce (gh.members, 0)" }, { "state", "coalesce (gs.state, '')" }, { "type", "g.type" },
    { "activity", "coalesce (gh.msgs_per_day, 0)" }, { "created", "g.created_at" },
};

static const char *s_states [] = { "growing", "healthy", "declining", "zombie" };

static int s_bad (char *err, size_t errlen, const char *name, const char *want)
{
    qy_snprintf (err, errlen, "bad parameter %s: want %s", name, want);
    return -1;
}

int console_groups_query_parse (console_arg_fn *get, void *arg, console_groups_query_t *q, char *err, size_t errlen)
{
    memset (q, 0, sizeof (*q));
    q->store = get (arg, "store");
    q->region = get (arg, "region");
    q->state = get (arg, "state");
    q->tag = get (arg, "tag");
    q->type = get (arg, "type");
    q->q = get (arg, "q");
    if (q->state) {
        bool ok = false;
        for (size_t i = 0; i < QY_ARRAY_LEN (s_states); i++)
            ok |= strcmp (q->state, s_states [i]) == 0;
        if (!ok)
            return s_bad (err, errlen, "state", "growing, healthy, declining or zombie");
    }
    if (console_long_arg (get (arg, "min_size"), -1, 0, 1000000, &q->min_size)
        || console_long_arg (get (arg, "max_size"), -1, 0, 1000000, &q->max_size))
        return s_bad (err, errlen, "min_size/max_size", "a whole number from 0");
    if (console_long_arg (get (arg, "min_health"), -1, 0, 100, &q->min_health)
        || console_long_arg (get (arg, "max_health"), -1, 0, 100, &q->max_health))
        return s_bad (err, errlen, "min_health/max_health", "0 to 100");
    if (console_long_arg (get (arg, "limit"), 50, 1, 500, &q->limit))
        return s_bad (err, errlen, "limit", "1 to 500");
    if (console_long_arg (get (arg, "after"), 0, 0, 100000000, &q->offset))
        return s_bad (err, errlen, "after", "the next value of the previous page");
    const char *sort = get (arg, "sort");
    q->sort = "g.code";
    if (sort && *sort) {
        const char *key = sort [0] == '-' ? sort + 1 : sort;
        q->desc = sort [0] == '-';
        q->sort = NULL;
        for (size_t i = 0; i < QY_ARRAY_LEN (s_sorts); i++)
            if (strcmp (key, s_sorts [i].key) == 0)
                q->sort = s_sorts [i].sql;
        if (!q->sort)
            return s_bad (err, errlen, "sort", "code, name, store, health, size, state, type, activity or created (- for descending)");
    }
    return 0;
}

//  Length of the UTF-8 character starting with byte c (1 for a stray byte).
static size_t s_utf8_len (unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

static void s_segment (qy_buf_t *out, bool *first, const char *s, size_t n, bool hit)
{
    if (!n)
        return;
    char *t = qy_strndup (s, n);
    qy_buf_puts (out, *first ? "{\"t\":" : ",{\"t\":");
    qy_buf_json_str (out, t);
    qy_buf_puts (out, hit ? ",\"hit\":true}" : ",\"hit\":false}");
    free (t);
    *first = false;
}

void console_highlight (qy_buf_t *out, const char *text, const char *needle)
{
    bool first = true;
    size_t nl = needle ? strlen (needle) : 0;
    qy_buf_puts (out, "[");
    const char *p = text, *start = text;
    while (nl && *p) {
        if (strncmp (p, needle, nl) == 0) {
            s_segment (out, &first, start, (size_t) (p - start), false);
            s_segment (out, &first, p, nl, true);
            p += nl;
            start = p;
        }
        else {
            size_t k = s_utf8_len ((unsigned char) *p);
            for (size_t i = 0; i < k && *p; i++)
                p++;
        }
    }
    s_segment (out, &first, start, strlen (start), false);
    qy_buf_puts (out, "]");
}

char *console_like_escape (const char *s)
{
    qy_buf_t b;
    qy_buf_init (&b);
    for (; *s; s++) {
        if (*s == '\\' || *s == '%' || *s == '_')
            qy_buf_append (&b, "\\", 1);
        qy_buf_append (&b, s, 1);
    }
    if (!b.data)
        return qy_strdup ("");
    return b.data;
}

void console_csv_field (qy_buf_t *out, const char *v)
{
    //  A leading = + - @ would make a spreadsheet run a formula: prefix a quote.
    bool formula = strchr ("=+-@", v [0]) && v [0];
    if (!strpbrk (v, ",\"\r\n") && !formula) {
        qy_buf_puts (out, v);
        return;
    }
    qy_buf_puts (out, formula ? "\"'" : "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            qy_buf_append (out, "\"", 1);
        qy_buf_append (out, p, 1);
    }
    qy_buf_puts (out, "\"");
}

const char *console_content_type (const char *path)
{
    static const struct { const char *ext, *type; } types [] = {
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" }, { ".json", "application/json" }, { ".svg", "image/svg+xml" },
        { ".png", "image/png" }, { ".ico", "image/x-icon" },
    };
    const char *dot = strrchr (path, '.');
    for (size_t i = 0; dot && i < QY_ARRAY_LEN (types); i++)
        if (strcmp (dot, types [i].ext) == 0)
            return types [i].type;
    return "application/octet-stream";
}

bool console_static_path_ok (const char *path)
{
    if (!path || path [0] != '/' || strstr (path, "..") || strstr (path, "//"))
        return false;
    for (const char *p = path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-' || *p == '/'))
            return false;
    return true;
}

int console_password_hash (const char *password, char out [128])
{
    //  argon2id with libsodium's interactive limits (64 MiB, 2 passes):
    //  a login costs about 0.1 s of one core, a stolen table much more.
    if (sodium_init () < 0)
        return -1;
    return crypto_pwhash_str (out, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static int s_cmp_span (const void *a, const void *b)
{
    const long *x = a, *y = b;
    return x [0] < y [0] ? -1 : x [0] > y [0];
}

void console_spans (qy_buf_t *out, const char *text, long *spans, size_t n)
{
    long len = (long) strlen (text);
    qsort (spans, n, 2 * sizeof (long), s_cmp_span);
    bool first = true;
    long at = 0;
    qy_buf_puts (out, "[");
    for (size_t i = 0; i < n; i++) {
        long s = spans [2 * i] < at ? at : spans [2 * i], e = spans [2 * i + 1] > len ? len : spans [2 * i + 1];
        //  Widen to whole characters: a span never cuts a UTF-8 sequence.
        while (s > at && ((unsigned char) text [s] & 0xC0) == 0x80)
            s--;
        while (e < len && ((unsigned char) text [e] & 0xC0) == 0x80)
            e++;
        if (e <= s)
            continue;
        s_segment (out, &first, text + at, (size_t) (s - at), false);
        s_segment (out, &first, text + s, (size_t) (e - s), true);
        at = e;
    }
    s_segment (out, &first, text + at, (size_t) (len - at), false);
    qy_buf_puts (out, "]");
}
