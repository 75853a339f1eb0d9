#include "qy/config.h"
#include "qy/log.h"
#include "qy/util.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool qy_config_choice_ok (const char *choices, const char *value)
{
    size_t len = strlen (value);
    for (const char *p = choices; p && *p; ) {
        const char *bar = strchr (p, '|');
        size_t n = bar ? (size_t) (bar - p) : strlen (p);
        if (n == len && strncmp (p, value, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

//  The row's own rule for a string: one of its choices, or its check.
//  A refusal names the key, the value, what is allowed and where the value
//  came from, so the one line at start says all an operator needs.
static int s_refused (const qy_option_t *o, const char *value, const char *from,
                      char *err, size_t errlen)
{
    char why [256] = "";
    if (o->choices && !qy_config_choice_ok (o->choices, value))
        qy_snprintf (why, sizeof (why), "one of %s", o->choices);
    else
    if (o->check && o->check (value, why, sizeof (why)) && !*why)
        qy_snprintf (why, sizeof (why), "a valid value");
    if (!*why)
        return 0;
    qy_snprintf (err, errlen, "config %s: bad value '%s' (from %s): expected %s", o->name, value, from, why);
    return -1;
}

static int s_set (const qy_option_t *o, void *cfg, const char *value, const char *from,
                  char *err, size_t errlen)
{
    char *field = (char *) cfg + o->offset;
    char *end = NULL;
    errno = 0;
    switch (o->type) {
        case QY_STR:
            if (s_refused (o, value, from, err, errlen))
                return -1;
            free (*(char **) field);
            *(char **) field = qy_strdup (value);
            return 0;
        case QY_BOOL:
            if (!strcmp (value, "1") || !strcasecmp (value, "true") || !strcasecmp (value, "yes") || !strcasecmp (value, "on"))
                *(bool *) field = true;
            else
            if (!strcmp (value, "0") || !strcasecmp (value, "false") || !strcasecmp (value, "no") || !strcasecmp (value, "off"))
                *(bool *) field = false;
            else
                goto bad;
            return 0;
        case QY_INT: {
            long v = strtol (value, &end, 10);
            if (errno || end == value || *end)
                goto bad;
            if ((o->min || o->max) && (v < o->min || v > o->max))
                goto range;
            *(long *) field = v;
            return 0;
        }
        case QY_DBL: {
            double v = strtod (value, &end);
            if (errno || end == value || *end)
                goto bad;
            if ((o->min || o->max) && (v < o->min || v > o->max))
                goto range;
            *(double *) field = v;
            return 0;
        }
    }
bad:
    qy_snprintf (err, errlen, "config %s: bad value '%s' (from %s)", o->name, value, from);
    return -1;
range:
    qy_snprintf (err, errlen, "config %s: value %s out of range [%g, %g] (from %s)",
                 o->name, value, o->min, o->max, from);
    return -1;
}

static const qy_option_t *s_find (const qy_option_t *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (opts [i].name, name) == 0)
            return &opts [i];
    return NULL;
}

static void s_env_name (char *buf, size_t len, const char *service, const char *key)
{
    size_t n = qy_snprintf (buf, len, "QY_%s%s", service ? service : "", service ? "_" : "");
    for (const char *p = key; *p && n + 1 < len; p++)
        buf [n++] = (*p == '.' || *p == '-') ? '_' : (char) toupper ((unsigned char) *p);
    buf [n] = 0;
    for (char *p = buf; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
}

static char *s_trim (char *s)
{
    while (isspace ((unsigned char) *s))
        s++;
    char *e = s + strlen (s);
    while (e > s && isspace ((unsigned char) e [-1]))
        *--e = 0;
    return s;
}

int qy_config_env (const char *name, char *buf, size_t buflen, const char **value, char *err, size_t errlen)
{
    char fname [192];
    qy_snprintf (fname, sizeof (fname), "%s_FILE", name);
    const char *path = getenv (fname);
    *value = getenv (name);
    if (*value && path) {
        qy_snprintf (err, errlen, "config: both %s and %s are set (give one)", name, fname);
        return -1;
    }
    if (!path)
        return 0;
    //  The value is the file's contents, less the line end an editor or
    //  `echo` leaves; a file too big for buf is an error, not cut short.
    FILE *f = fopen (path, "r");
    if (!f) {
        qy_snprintf (err, errlen, "config %s: %s: %s", fname, path, strerror (errno));
        return -1;
    }
    size_t n = fread (buf, 1, buflen, f);
    bool bad = ferror (f) || n == buflen;
    fclose (f);
    if (bad) {
        qy_snprintf (err, errlen, "config %s: %s: unreadable or longer than %zu bytes", fname, path, buflen - 1);
        return -1;
    }
    while (n > 0 && (buf [n - 1] == '\n' || buf [n - 1] == '\r'))
        n--;
    buf [n] = 0;
    *value = buf;
    return 0;
}

int qy_config_load (const char *service, const qy_option_t *opts, size_t n,
                    void *cfg, const char *file, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (s_set (&opts [i], cfg, opts [i].def, "default", err, errlen))
            return -1;
    if (file && *file) {
        FILE *f = fopen (file, "r");
        if (!f) {
            qy_snprintf (err, errlen, "config file %s: %s", file, strerror (errno));
            return -1;
        }
        char line [4096];
        int lineno = 0;
        while (fgets (line, sizeof (line), f)) {
            lineno++;
            char *s = s_trim (line);
            if (!*s || *s == '#')
                continue;
            char *eq = strchr (s, '=');
            if (!eq) {
                qy_snprintf (err, errlen, "config file %s:%d: expected key = value", file, lineno);
                fclose (f);
                return -1;
            }
            *eq = 0;
            char *key = s_trim (s), *value = s_trim (eq + 1);
            const qy_option_t *o = s_find (opts, n, key);
            if (!o) {
                qy_snprintf (err, errlen, "config file %s:%d: unknown option '%s'", file, lineno, key);
                fclose (f);
                return -1;
            }
            if (s_set (o, cfg, value, file, err, errlen)) {
                fclose (f);
                return -1;
            }
        }
        fclose (f);
    }
    char upper [64];
    qy_snprintf (upper, sizeof (upper), "%s", service);
    char *buf = qy_malloc (QY_CONFIG_FILE_MAX);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        //  QY_<KEY> then QY_<SERVICE>_<KEY>, each or its _FILE twin.
        for (int scoped = 0; scoped < 2 && rc == 0; scoped++) {
            char name [160], from [176];
            s_env_name (name, sizeof (name), scoped ? upper : NULL, opts [i].name);
            const char *v;
            if (qy_config_env (name, buf, QY_CONFIG_FILE_MAX, &v, err, errlen))
                rc = -1;
            else
            if (v) {
                qy_snprintf (from, sizeof (from), "%s%s", name, v == buf ? "_FILE" : "");
                rc = s_set (&opts [i], cfg, v, from, err, errlen);
            }
        }
    }
    free (buf);
    return rc;
}

void qy_config_free (const qy_option_t *opts, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++)
        if (opts [i].type == QY_STR) {
            char **field = (char **) ((char *) cfg + opts [i].offset);
            free (*field);
            *field = NULL;
        }
}

void qy_config_log (const qy_option_t *opts, size_t n, const void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        const char *field = (const char *) cfg + opts [i].offset;
        bool secret = strstr (opts [i].name, "password") || strstr (opts [i].name, "token")
                   || strstr (opts [i].name, "secret") || strstr (opts [i].name, "dsn");
        switch (opts [i].type) {
            case QY_STR:
                qy_log_info ("config %s=%s", opts [i].name, secret ? "***" : *(char *const *) field);
                break;
            case QY_INT:  qy_log_info ("config %s=%ld", opts [i].name, *(const long *) field); break;
            case QY_DBL:  qy_log_info ("config %s=%g", opts [i].name, *(const double *) field); break;
            case QY_BOOL: qy_log_info ("config %s=%s", opts [i].name, *(const bool *) field ? "true" : "false"); break;
        }
    }
}
