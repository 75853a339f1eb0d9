/*  =========================================================================
    judge_rules.c - rule rows from TSV, and the built-in default rule set.

    default_rules.tsv is the single source of the default rules: CMake
    embeds it into the library (judge_default_rules_data.c, generated), the
    migrations insert it into PostgreSQL, and `qy-judge eval --rules` reads
    files in the same format.
    =========================================================================
*/
#include <errno.h>
#include <pthread.h>

#include "judge.h"
#include "judge_util.h"

//  Generated from default_rules.tsv at build time
extern const char judge_default_rules_tsv [];
extern const size_t judge_default_rules_tsv_len;

//  Undo the TSV escapes of a pattern: \n, \t and \\ only, so that regex
//  escapes such as \d or \. pass through untouched.
static char *
s_unescape (const char *s, size_t len)
{
    char *out = (char *) judge_malloc (len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s [i] == '\\' && i + 1 < len
        &&  (s [i + 1] == 'n' || s [i + 1] == 't' || s [i + 1] == '\\')) {
            out [o++] = s [i + 1] == 'n' ? '\n' : s [i + 1] == 't' ? '\t' : '\\';
            i++;
        }
        else
            out [o++] = s [i];
    }
    out [o] = 0;
    return out;
}

void
judge_rules_free (judge_rule_row_t **rows_p, size_t n)
{
    if (!rows_p || !*rows_p)
        return;
    judge_rule_row_t *rows = *rows_p;
    for (size_t i = 0; i < n; i++) {
        free ((char *) rows [i].name);
        free ((char *) rows [i].kind);
        free ((char *) rows [i].category);
        free ((char *) rows [i].pattern);
    }
    free (rows);
    *rows_p = NULL;
}

judge_rule_row_t *
judge_rules_parse_tsv (const char *text, size_t len, size_t *n_p, char *err, size_t errlen)
{
    size_t cap = 16, n = 0, lineno = 0;
    judge_rule_row_t *rows = (judge_rule_row_t *) judge_calloc (cap, sizeof (*rows));
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        const char *line_end = eol;
        if (line_end > p && line_end [-1] == '\r')
            line_end--;
        lineno++;
        const char *line = p;
        p = eol < end ? eol + 1 : end;
        if (line == line_end || *line == '#')
            continue;
        //  Split into at most 6 fields
        const char *field [6] = { 0 };
        size_t flen [6] = { 0 }, nf = 0;
        const char *f = line;
        while (nf < 6) {
            const char *tab = memchr (f, '\t', (size_t) (line_end - f));
            const char *fe = tab ? tab : line_end;
            field [nf] = f;
            flen [nf] = (size_t) (fe - f);
            nf++;
            if (!tab)
                break;
            f = tab + 1;
        }
        if (nf >= 1 && flen [0] == 4 && memcmp (field [0], "name", 4) == 0)
            continue;       //  header
        if (nf < 4) {
            judge_errf (err, errlen, "line %zu: expected name, kind, category, weight, pattern",
                        lineno);
            goto fail;
        }
        char *weight_s = judge_strndup (field [3], flen [3]), *wend;
        double weight = strtod (weight_s, &wend);
        int bad = wend == weight_s || *wend;
        free (weight_s);
        if (bad) {
            judge_errf (err, errlen, "line %zu: bad weight", lineno);
            goto fail;
        }
        if (n == cap) {
            cap *= 2;
            rows = (judge_rule_row_t *) judge_realloc (rows, cap * sizeof (*rows));
        }
        judge_rule_row_t *row = rows + n++;
        row->name = judge_strndup (field [0], flen [0]);
        row->kind = judge_strndup (field [1], flen [1]);
        row->category = judge_strndup (field [2], flen [2]);
        row->weight = weight;
        row->pattern = nf >= 5 ? s_unescape (field [4], flen [4]) : judge_strdup ("");
        row->dry_run = nf >= 6 && flen [5] && field [5][0] == '1';
    }
    *n_p = n;
    return rows;
fail:
    judge_rules_free (&rows, n);
    *n_p = 0;
    return NULL;
}

judge_rule_row_t *
judge_rules_load_tsv (const char *path, size_t *n_p, char *err, size_t errlen)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        judge_errf (err, errlen, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }
    size_t cap = 1 << 14, len = 0, got;
    char *buf = (char *) judge_malloc (cap);
    while ((got = fread (buf + len, 1, cap - len, file)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = (char *) judge_realloc (buf, cap);
        }
    }
    fclose (file);
    judge_rule_row_t *rows = judge_rules_parse_tsv (buf, len, n_p, err, errlen);
    free (buf);
    return rows;
}

static judge_rule_row_t *s_defaults;
static size_t s_ndefaults;
static pthread_once_t s_defaults_once = PTHREAD_ONCE_INIT;

static void
s_parse_defaults (void)
{
    char err [256] = "";
    s_defaults = judge_rules_parse_tsv (judge_default_rules_tsv, judge_default_rules_tsv_len,
                                        &s_ndefaults, err, sizeof (err));
    if (!s_defaults) {
        //  The file is part of the build: a parse error is a programming error
        fprintf (stderr, "judge: default_rules.tsv is invalid: %s\n", err);
        abort ();
    }
}

const judge_rule_row_t *
judge_default_rules (size_t *n_p)
{
    pthread_once (&s_defaults_once, s_parse_defaults);
    *n_p = s_ndefaults;
    return s_defaults;
}
