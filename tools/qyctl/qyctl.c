#include "qyctl.h"
#include "qyctl_text.h"
#include "qy/config.h"
#include "qy/util.h"
#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PGconn *s_conn;

void qyctl_vsay (const char *fmt, va_list ap)
{
    fputs ("qyctl: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputs ("\n", stderr);
}

void qyctl_die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qyctl_vsay (fmt, ap);
    va_end (ap);
    exit (QYCTL_FAILED);
}

long qyctl_long (const char *what, const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = s ? strtol (s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max)
        qyctl_usage_error ("%s must be a whole number from %ld to %ld, not '%s'", what, min, max, s ? s : "");
    return v;
}

PGconn *qyctl_pg (void)
{
    if (s_conn)
        return s_conn;
    static char dsn_file [QY_CONFIG_FILE_MAX];   //  QY_PG_DSN_FILE: the DSN (with its password) kept in a secret file
    const char *dsn = qyctl_opt ("dsn", NULL), *env = NULL;
    char err [512];
    if (!dsn && qy_config_env ("QY_PG_DSN", dsn_file, sizeof (dsn_file), &env, err, sizeof (err)))
        qyctl_die ("%s", err);
    dsn = dsn ? dsn : env;
    if (!dsn)
        dsn = "host=127.0.0.1 port=5432 dbname=qunyun user=qunyun";
    s_conn = PQconnectdb (dsn);
    if (PQstatus (s_conn) != CONNECTION_OK)
        qyctl_die ("cannot connect to PostgreSQL: %s", PQerrorMessage (s_conn));
    PQclear (PQexec (s_conn, "SET client_min_messages = warning"));
    return s_conn;
}

PGresult *qyctl_exec (const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams (qyctl_pg (), sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        qyctl_die ("%s", PQresultErrorMessage (res));
    return res;
}

char *qyctl_secret (const char *name, const char *env)
{
    if (qyctl_opt (name, NULL))
        qyctl_usage_error ("--%s on the command line is seen by every user (ps) and kept in shell history: "
                           "use --%s-file FILE, --%s-file - (standard input) or $%s", name, name, name, env);
    char opt [48];
    qy_snprintf (opt, sizeof (opt), "%s-file", name);
    const char *file = qyctl_opt (opt, NULL);
    if (!file) {
        const char *e = getenv (env);
        return e && *e ? qy_strdup (e) : NULL;
    }
    FILE *f = strcmp (file, "-") ? fopen (file, "r") : stdin;
    if (!f)
        qyctl_die ("cannot read --%s %s: %s", opt, file, strerror (errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline (&line, &cap, f);
    if (f != stdin)
        fclose (f);
    if (n > 0)
        line [strcspn (line, "\r\n")] = 0;
    if (n <= 0 || !*line) {
        free (line);
        qyctl_usage_error ("--%s %s holds no secret on its first line", opt, file);
    }
    return line;
}

void qyctl_progress_start (qyctl_progress_t *self, const char *what, long total)
{
    *self = (qyctl_progress_t) { what, total, qy_now_us (), 0, isatty (STDERR_FILENO) == 1 };
}

void qyctl_progress (qyctl_progress_t *self, long done)
{
    int64_t now = qy_now_us ();
    if (!self->on || now - self->shown_us < 200000)
        return;
    self->shown_us = now;
    char line [160];
    qyctl_progress_line (line, sizeof (line), self->what, done, self->total, (double) (now - self->start_us) / 1e6);
    fprintf (stderr, "\r\033[K%s", line);
    fflush (stderr);
}

void qyctl_progress_end (qyctl_progress_t *self)
{
    if (self->on && self->shown_us)
        fputs ("\r\033[K", stderr);
    self->shown_us = 0;
}

int64_t qyctl_brand_id (const char *code)
{
    if (!code)
        qyctl_die ("a brand code is needed");
    const char *p [] = { code };
    PGresult *res = qyctl_exec ("SELECT id, tz_offset_min, tz_name FROM brands WHERE code = $1", 1, p);
    if (PQntuples (res) == 0)
        qyctl_die ("unknown brand '%s'", code);
    int64_t id = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    //  Times are the brand's, as its members are told them: the session
    //  takes its offset, so timestamps print in it with the offset marked
    //  (2026-12-06 09:30:00+08) and times typed without one are read in it.
    //  A named zone is the session's own, so each time prints at the
    //  offset it had then (summer or winter).
    int tz = atoi (PQgetvalue (res, 0, 1));
    if (!PQgetisnull (res, 0, 2)) {
        const char *zp [] = { PQgetvalue (res, 0, 2) };
        PQclear (qyctl_exec ("SELECT set_config ('TimeZone', $1, false)", 1, zp));
        PQclear (res);
        return id;
    }
    PQclear (res);
    char set [64];
    qy_snprintf (set, sizeof (set), "SET TIME ZONE INTERVAL '%c%02d:%02d' HOUR TO MINUTE", tz < 0 ? '-' : '+', abs (tz) / 60,
                 abs (tz) % 60);
    PQclear (qyctl_exec (set, 0, NULL));
    return id;
}

//  One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
//  line break of either kind.
static void s_csv_field (const char *v)
{
    if (!strpbrk (v, ",\"\r\n")) {
        fputs (v, stdout);
        return;
    }
    putchar ('"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            putchar ('"');
        putchar (*p);
    }
    putchar ('"');
}

void qyctl_csv_row (const char *const *fields, int n)
{
    static bool bom;
    if (qyctl_flag ("excel") && !bom) {
        fputs ("\xEF\xBB\xBF", stdout);       //  once, at the start of the output
        bom = true;
    }
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        if (i)
            putchar (',');
        s_csv_field (fields [i] ? fields [i] : "");
    }
    putchar ('\n');
}

//  pairs (key, value, …, NULL) as the members of a JSON object: digits
//  as a number, true/false as a boolean, NULL as null, else a string.
static void s_pairs_json (qy_buf_t *b, const char *const *pairs)
{
    for (size_t i = 0; pairs && pairs [i]; i += 2) {
        const char *v = pairs [i + 1];
        qy_buf_puts (b, b->len && b->data [b->len - 1] != '{' ? "," : "");
        qy_buf_json_str (b, pairs [i]);
        qy_buf_puts (b, ":");
        bool number = v && *v && strspn (v + (*v == '-'), "0123456789") == strlen (v + (*v == '-')) && v [*v == '-'];
        if (!v)
            qy_buf_puts (b, "null");
        else
        if (number || !strcmp (v, "true") || !strcmp (v, "false"))
            qy_buf_puts (b, v);
        else
            qy_buf_json_str (b, v);
    }
}

static bool s_json (void)
{
    return strcmp (qyctl_opt ("format", "table"), "json") == 0;
}

static qy_buf_t s_items;            //  qyctl_item's objects so far (JSON)

//  qyctl_ack (item false) and qyctl_item: the line, or the pairs as a JSON
//  object printed now or kept for qyctl_items_end.
static void s_vack (bool item, const char *const *pairs, const char *fmt, va_list ap)
{
    if (!s_json ()) {
        vprintf (fmt, ap);
        putchar ('\n');
        fflush (stdout);
        return;
    }
    qy_buf_t one;
    qy_buf_init (&one);
    qy_buf_puts (&one, "{");
    s_pairs_json (&one, pairs);
    qy_buf_puts (&one, "}");
    if (item) {
        if (!s_items.data)
            qy_buf_init (&s_items);
        qy_buf_printf (&s_items, "%s%s", s_items.len ? "," : "", one.data);
    }
    else
        printf ("%s\n", one.data);
    qy_buf_free (&one);
}

void qyctl_ack (const char *const *pairs, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vack (false, pairs, fmt, ap);
    va_end (ap);
}

void qyctl_item (const char *const *pairs, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vack (true, pairs, fmt, ap);
    va_end (ap);
}

bool qyctl_items_end (const char *name, const char *const *pairs)
{
    if (!s_json ())
        return false;
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, "{");
    qy_buf_json_str (&b, name);
    qy_buf_printf (&b, ":[%s]", s_items.len ? s_items.data : "");
    s_pairs_json (&b, pairs);
    qy_buf_puts (&b, "}\n");
    fputs (b.data, stdout);
    qy_buf_free (&b);
    qy_buf_free (&s_items);
    return true;
}

PGresult *qyctl_json_table (const char *json_rows, const char *columns)
{
    char *sql = qy_printf ("SELECT * FROM jsonb_to_recordset ($1::jsonb) AS x (%s)", columns);
    const char *p [] = { json_rows };
    PGresult *res = qyctl_exec (sql, 1, p);
    free (sql);
    return res;
}

//  A value as JSON: numbers and booleans as such (PostgreSQL's types),
//  everything else (and NaN, infinities) a string.
static void s_json_value (qy_buf_t *b, PGresult *res, int r, int c)
{
    const char *v = PQgetvalue (res, r, c);
    Oid type = PQftype (res, c);
    enum { BOOL = 16, INT8 = 20, INT2 = 21, INT4 = 23, FLOAT4 = 700, FLOAT8 = 701, NUMERIC = 1700 };
    if (PQgetisnull (res, r, c))
        qy_buf_puts (b, "null");
    else
    if (type == BOOL)
        qy_buf_puts (b, v [0] == 't' ? "true" : "false");
    else
    if ((type == INT8 || type == INT2 || type == INT4 || type == FLOAT4 || type == FLOAT8 || type == NUMERIC)
        && isfinite (strtod (v, NULL)) && strspn (v, "-0123456789.eE+") == strlen (v))
        qy_buf_puts (b, v);
    else
        qy_buf_json_str (b, v);
}

static void s_json_rows (qy_buf_t *b, PGresult *res)
{
    qy_buf_puts (b, "[");
    for (int r = 0; r < PQntuples (res); r++) {
        qy_buf_puts (b, r ? ",\n {" : "{");
        for (int c = 0; c < PQnfields (res); c++) {
            if (c)
                qy_buf_puts (b, ",");
            qy_buf_json_str (b, PQfname (res, c));
            qy_buf_puts (b, ":");
            s_json_value (b, res, r, c);
        }
        qy_buf_puts (b, "}");
    }
    qy_buf_puts (b, "]");
}

static int s_sections;      //  sections of the report printed so far

void qyctl_section (const char *name, PGresult *res, const char *format)
{
    if (strcmp (format, "json") != 0) {
        if (strcmp (format, "table") == 0)
            printf ("\n== %s\n", name);
        qyctl_print (res, format);
        return;
    }
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, s_sections++ ? ",\n " : "{");
    qy_buf_json_str (&b, name);
    qy_buf_puts (&b, ":");
    s_json_rows (&b, res);
    fputs (b.data, stdout);
    qy_buf_free (&b);
}

void qyctl_sections_end (const char *format)
{
    if (strcmp (format, "json") == 0)
        fputs (s_sections ? "}\n" : "{}\n", stdout);
}

void qyctl_print (PGresult *res, const char *format)
{
    if (format && strcmp (format, "csv") == 0)
        qyctl_csv_row (NULL, -1);              //  the BOM alone (--excel), once
    int rows = PQntuples (res), cols = PQnfields (res);
    if (format && strcmp (format, "csv") == 0) {
        for (int c = 0; c < cols; c++) {
            printf ("%s", c ? "," : "");
            s_csv_field (PQfname (res, c));
        }
        printf ("\n");
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                printf ("%s", c ? "," : "");
                s_csv_field (PQgetvalue (res, r, c));
            }
            printf ("\n");
        }
        return;
    }
    if (format && strcmp (format, "json") == 0) {
        qy_buf_t b;
        qy_buf_init (&b);
        s_json_rows (&b, res);
        qy_buf_puts (&b, "\n");
        fputs (b.data, stdout);
        qy_buf_free (&b);
        return;
    }
    int *w = qy_calloc ((size_t) cols, sizeof (int));
    for (int c = 0; c < cols; c++) {
        w [c] = qyctl_width (PQfname (res, c));
        for (int r = 0; r < rows; r++) {
            int x = qyctl_width (PQgetvalue (res, r, c));
            if (x > w [c])
                w [c] = x > 60 ? 60 : x;
        }
    }
    for (int c = 0; c < cols; c++)
        printf ("%s%-*s", c ? "  " : "", w [c], PQfname (res, c));
    printf ("\n");
    for (int c = 0; c < cols; c++) {
        printf ("%s", c ? "  " : "");
        for (int i = 0; i < w [c]; i++)
            putchar ('-');
    }
    printf ("\n");
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const char *v = PQgetvalue (res, r, c);
            int pad = w [c] - qyctl_width (v);
            printf ("%s%s", c ? "  " : "", v);
            for (int i = 0; i < pad && c + 1 < cols; i++)
                putchar (' ');
        }
        printf ("\n");
    }
    printf ("(%d row%s)\n", rows, rows == 1 ? "" : "s");
    free (w);
}


//  The commands. specs: the command's parsing tables (qyctl.h); a command
//  without them parses its own argv (getopt_long, as the house rules say).
static const struct {
    const char *name;
    int (*fn) (int, char **);
    const char *help;
    const qyctl_command_t *specs;
} s_commands [] = {
    { "migrate",     qyctl_migrate,     "apply SQL migrations (safe to run twice)", qyctl_migrate_commands },
    { "brand",       qyctl_brand,       "brands", qyctl_brand_commands },
    { "region",      qyctl_region,      "a brand's regions", qyctl_region_commands },
    { "store",       qyctl_store,       "a brand's stores", qyctl_store_commands },
    { "group",       qyctl_group,       "a brand's groups", qyctl_group_commands },
    { "channel",     qyctl_channel,     "a brand's join channels", qyctl_channel_commands },
    { "rules",       qyctl_rules,       "moderation rules", qyctl_rules_commands },
    { "campaign",    qyctl_campaign,    "campaigns (SOPs)", qyctl_campaign_commands },
    { "demo",        qyctl_demo,        "the demo brand", qyctl_demo_commands },
    { "violations",  qyctl_violations,  "a brand's violations", qyctl_violations_commands },
    { "deliveries",  qyctl_deliveries,  "a brand's deliveries", qyctl_deliveries_commands },
    { "deadletters", qyctl_deadletters, "what the services set aside", qyctl_deadletters_commands },
    { "report",      qyctl_report,      "reports", qyctl_report_commands },
    { "voc",         qyctl_voc,         "voice of the customer: complaints", qyctl_voc_commands },
    { "gateway",     qyctl_gateway,     "a brand's gateways and alert routes", qyctl_gateway_commands },
    { "gatekey",     qyctl_gatekey,     "CURVE keys of gateways on the ZeroMQ door", qyctl_gatekey_commands },
    { "replay",      qyctl_replay,      "re-send archived events into the chain", qyctl_replay_commands },
    { "housekeep",   qyctl_housekeep,   "data retention", qyctl_housekeep_commands },
    { "send",        qyctl_send,        "send JSON-lines events to ingest", qyctl_send_commands },
    { "moderation",  qyctl_moderation,  "the operators' side of moderation", qyctl_moderation_commands },
    { "user",        qyctl_user,        "the console's people", qyctl_user_commands },
    { "tasks",       qyctl_tasks,       "staff tasks on WeCom's official API", qyctl_tasks_commands },
    { "wecom",       qyctl_wecom,       "brands on WeCom's official API", qyctl_wecom_commands },
    { "member",      qyctl_member,      "a member's profile", qyctl_member_commands },
    { "status",      qyctl_status,      "services and work waiting", qyctl_status_commands },
};

static void s_list_specs (const qyctl_command_t *specs, FILE *f)
{
    for (const qyctl_command_t *c = specs; c->name; c++) {
        char *left = qy_printf ("%s%s%s", c->name, *c->args ? " " : "", c->args);
        //  Padded by columns on screen, not bytes: "FILE…" is one column wider, not three.
        int pad = 44 - qyctl_width (left);
        fprintf (f, "  %s%*s %s\n", left, pad > 0 ? pad : 0, "", c->help);
        free (left);
    }
}

static void s_top_usage (FILE *f)
{
    fprintf (f, "usage: qyctl [--dsn DSN] [--format table|csv|json] COMMAND [ARGS] [OPTIONS]\n"
                "       qyctl help [COMMAND [SUBCOMMAND]] | qyctl help --commands | qyctl help --completion (bash)\n"
                "       qyctl --version\n\n");
    for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
        if (s_commands [c].specs)
            s_list_specs (s_commands [c].specs, f);
        else
            fprintf (f, "  %-44s %s\n", s_commands [c].name, s_commands [c].help);
    fprintf (f, "\n`qyctl COMMAND --help` shows a command's options; --help never does anything else.\n"
                "DSN defaults to $QY_PG_DSN. Exit status: 0 done, 1 failed, 2 usage error (nothing done),\n"
                "3 partly done (send --strict: ingest refused some events).\n");
}

//  Every command and subcommand, one a line: what `help --commands` prints
//  (the tests run each with --help and with a bogus option).
static void s_all_commands (void)
{
    for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
        if (s_commands [c].specs)
            for (const qyctl_command_t *k = s_commands [c].specs; k->name; k++)
                printf ("%s\n", k->name);
        else
            printf ("%s\n", s_commands [c].name);
}

//  The bash completion script, from the same tables as the parser (the
//  build writes it to qyctl.bash-completion): commands and subcommands,
//  each one's options, the values of options with a known set, files for
//  FILE arguments. Commands without tables complete their name only.
static void s_completion (void)
{
    printf ("# bash completion for qyctl: generated by `qyctl help --completion` from its option tables.\n"
            "_qyctl_specs=(\n");
    for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
        if (s_commands [c].specs)
            for (const qyctl_command_t *k = s_commands [c].specs; k->name; k++)
                printf ("  '%s'\n", k->name);
        else
            printf ("  '%s'\n", s_commands [c].name);
    printf ("  'help')\ndeclare -gA _qyctl_opts=(\n");
    qy_buf_t valued, choices;
    qy_buf_init (&valued);
    qy_buf_init (&choices);
    qy_buf_puts (&valued, " --dsn --format ");
    qy_buf_puts (&choices, "  ['--format']='table csv json'\n");
    for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
        for (const qyctl_command_t *k = s_commands [c].specs; k && k->name; k++) {
            printf ("  ['%s']='%s", k->name, k->flags & QYCTL_CONFIRM ? "--yes" : "");
            for (const qyctl_option_t *o = k->options; o && o->name; o++) {
                printf (" --%s", o->name);
                char *word = qy_printf (" --%s ", o->name);
                if (o->kind == QYCTL_VALUE && !strstr (valued.data, word))
                    qy_buf_printf (&valued, "--%s ", o->name);
                free (word);
                if (o->choices) {
                    qy_buf_printf (&choices, "  ['%s --%s']='", k->name, o->name);
                    for (size_t i = 0; o->choices [i]; i++)
                        qy_buf_printf (&choices, "%s%s", i ? " " : "", o->choices [i]);
                    qy_buf_puts (&choices, "'\n");
                }
            }
            printf ("%s'\n", strstr (k->args, "FILE") ? " FILE" : "");
        }
    printf (")\ndeclare -gA _qyctl_choices=(\n%s)\n_qyctl_valued='%s'\n", choices.data, valued.data);
    qy_buf_free (&valued);
    qy_buf_free (&choices);
    fputs ("_qyctl () {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i w s spec='' n=0 next=''\n"
           "    local -a words=() sw\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        if [[ $w == -* ]]; then [[ $_qyctl_valued == *\" $w \"* ]] && ((i++)); continue; fi\n"
           "        words+=(\"$w\")\n"
           "    done\n"
           "    for s in \"${_qyctl_specs[@]}\"; do\n"
           "        read -ra sw <<< \"$s\"\n"
           "        ((${#sw[@]} <= ${#words[@]} && ${#sw[@]} > n)) || continue\n"
           "        [[ \"${words[*]:0:${#sw[@]}}\" == \"$s\" ]] && { spec=$s; n=${#sw[@]}; }\n"
           "    done\n"
           "    if [[ $prev == -* && $_qyctl_valued == *\" $prev \"* ]]; then\n"
           "        s=${_qyctl_choices[\"$spec $prev\"]:-${_qyctl_choices[$prev]:-}}\n"
           "        if [[ -n $s ]]; then COMPREPLY=($(compgen -W \"$s\" -- \"$cur\")); else COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
           "        return\n"
           "    fi\n"
           "    if [[ $cur == -* ]]; then\n"
           "        s=${_qyctl_opts[$spec]:-}\n"
           "        COMPREPLY=($(compgen -W \"${s//FILE/} --dsn --format --excel --help\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    for s in \"${_qyctl_specs[@]}\"; do\n"
           "        read -ra sw <<< \"$s\"\n"
           "        ((${#sw[@]} > ${#words[@]})) || continue\n"
           "        [[ ${#words[@]} == 0 || \"${sw[*]:0:${#words[@]}}\" == \"${words[*]}\" ]] || continue\n"
           "        [[ \"$next \" == *\" ${sw[${#words[@]}]} \"* ]] || next+=\" ${sw[${#words[@]}]}\"\n"
           "    done\n"
           "    if [[ -n $next ]]; then COMPREPLY=($(compgen -W \"$next\" -- \"$cur\"));\n"
           "    elif [[ ${_qyctl_opts[$spec]:-} == *FILE* ]]; then COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
           "}\n"
           "complete -F _qyctl qyctl\n", stdout);
}

//  How many of words match the words of spec after its first (0 when one differs, -1 none).
static int s_match (const char *spec, char **words, int n)
{
    const char *w = strchr (spec, ' ');
    int k = 0;
    while (w) {
        const char *end = strchr (w + 1, ' ');
        size_t len = end ? (size_t) (end - w - 1) : strlen (w + 1);
        if (k >= n || strlen (words [k]) != len || strncmp (words [k], w + 1, len) != 0)
            return -1;
        k++;
        w = end;
    }
    return k;
}

static bool s_help_word (const char *w)
{
    return !strcmp (w, "--help") || !strcmp (w, "-h");
}

//  The spec that argv (after the command word) names: the one whose words
//  match most. *used: how many words it took.
static const qyctl_command_t *s_spec (const qyctl_command_t *specs, char **words, int n, int *used)
{
    const qyctl_command_t *best = NULL;
    *used = -1;
    for (const qyctl_command_t *c = specs; c->name; c++) {
        int k = s_match (c->name, words, n);
        if (k > *used) {
            *used = k;
            best = c;
        }
    }
    return best;
}

//  Runs one command with the options given before it (pre, npre).
static int s_run (size_t c, int argc, char **argv, char **pre, int npre)
{
    if (!s_commands [c].specs) {
        //  A command parsing its own argv still gets the global options
        //  given before it (--dsn for qyctl_pg).
        static const qyctl_command_t globals_only = { "", "", 0, 0, NULL, "" };
        char **gv = qy_calloc ((size_t) npre + 2, sizeof (char *));
        gv [0] = argv [0];
        memcpy (gv + 1, pre, sizeof (char *) * (size_t) npre);
        qyctl_parse (&globals_only, npre + 1, gv);
        free (gv);
        return s_commands [c].fn (argc, argv);
    }
    int used;
    const qyctl_command_t *spec = s_spec (s_commands [c].specs, argv + 1, argc - 1, &used);
    bool help = false;
    for (int i = 1; i < argc && strcmp (argv [i], "--"); i++)
        help = help || s_help_word (argv [i]);
    for (int i = 0; i < npre; i++)
        help = help || s_help_word (pre [i]);
    bool family = s_commands [c].specs [1].name != NULL;
    if (!spec || (help && used == 0 && family)) {
        FILE *f = help ? stdout : stderr;
        if (!help)
            fprintf (stderr, argc > 1 && *argv [1] != '-' ? "qyctl: unknown subcommand '%s' of %s\n" : "qyctl: %s needs a subcommand\n",
                     argc > 1 && *argv [1] != '-' ? argv [1] : s_commands [c].name, s_commands [c].name);
        if (spec && help)
            qyctl_print_usage (spec, f);
        fprintf (f, "%s: %s\n", s_commands [c].name, s_commands [c].help);
        s_list_specs (s_commands [c].specs, f);
        fprintf (f, "(qyctl %s SUBCOMMAND --help for its options)\n", s_commands [c].name);
        return help ? QYCTL_OK : QYCTL_USAGE;
    }
    //  The parser sees the global options given before the command too.
    int n = 0;
    char **pv = qy_calloc ((size_t) (argc + npre) + 1, sizeof (char *));
    pv [n++] = argv [0];
    for (int i = 0; i < npre; i++)
        pv [n++] = pre [i];
    for (int i = 1 + used; i < argc; i++)
        pv [n++] = argv [i];
    qyctl_parse (spec, n, pv);
    free (pv);
    char **cv = qy_calloc ((size_t) qyctl_nargs () + 2, sizeof (char *));
    cv [0] = argv [0];
    for (int i = 0; i < qyctl_nargs (); i++)
        cv [i + 1] = (char *) qyctl_arg (i);
    int rc = s_commands [c].fn (qyctl_nargs () + 1, cv);
    free (cv);
    return rc;
}

static size_t s_find (const char *name)
{
    size_t c = 0;
    while (c < QY_ARRAY_LEN (s_commands) && strcmp (name, s_commands [c].name) != 0)
        c++;
    return c;
}

//  qyctl help [--commands | COMMAND [SUBCOMMAND…]]
static int s_help (int argc, char **argv)
{
    if (argc < 2) {
        s_top_usage (stdout);
        return QYCTL_OK;
    }
    if (!strcmp (argv [1], "--commands") && argc == 2) {
        s_all_commands ();
        return QYCTL_OK;
    }
    if (!strcmp (argv [1], "--completion") && argc == 2) {
        s_completion ();
        return QYCTL_OK;
    }
    size_t c = s_find (argv [1]);
    if (c == QY_ARRAY_LEN (s_commands)) {
        fprintf (stderr, "qyctl: no command '%s' (qyctl help lists them)\n", argv [1]);
        return QYCTL_USAGE;
    }
    //  As `qyctl COMMAND … --help`.
    char **v = qy_calloc ((size_t) argc + 1, sizeof (char *));
    for (int i = 1; i < argc; i++)
        v [i - 1] = argv [i];
    v [argc - 1] = "--help";
    int rc = s_commands [c].specs ? s_run (c, argc, v, NULL, 0) : s_commands [c].fn (argc, v);
    free (v);
    return rc;
}

#ifndef QYCTL_VERSION
#define QYCTL_VERSION "unknown"
#endif

//  Global options before the command (kept in pre for the command's
//  parser), then the command.
static int s_main (int argc, char **argv, char **pre)
{
    int i = 1;
    int npre = 0;
    for (; i < argc && argv [i][0] == '-' && strcmp (argv [i], "-") != 0; i++) {
        const char *a = argv [i];
        if (s_help_word (a)) {
            s_top_usage (stdout);
            return QYCTL_OK;
        }
        if (!strcmp (a, "--version")) {
#ifdef QYCTL_COMMIT
            printf ("qyctl %s (commit %s)\n", QYCTL_VERSION, QYCTL_COMMIT);
#else
            printf ("qyctl %s\n", QYCTL_VERSION);
#endif
            return QYCTL_OK;
        }
        bool valued = !strcmp (a, "--dsn") || !strcmp (a, "--format");
        if (!valued && strncmp (a, "--dsn=", 6) && strncmp (a, "--format=", 9) && strcmp (a, "--excel")) {
            fprintf (stderr, "qyctl: unknown option %s before the command\n", a);
            s_top_usage (stderr);
            return QYCTL_USAGE;
        }
        pre [npre++] = argv [i];
        if (valued) {
            if (i + 1 >= argc) {
                fprintf (stderr, "qyctl: %s needs a value\n", a);
                return QYCTL_USAGE;
            }
            pre [npre++] = argv [++i];
        }
    }
    if (i >= argc) {
        s_top_usage (stderr);
        return QYCTL_USAGE;
    }
    if (!strcmp (argv [i], "help"))
        return s_help (argc - i, argv + i);
    size_t c = s_find (argv [i]);
    if (c == QY_ARRAY_LEN (s_commands)) {
        fprintf (stderr, "qyctl: unknown command '%s' (qyctl help lists them)\n", argv [i]);
        return QYCTL_USAGE;
    }
    return s_run (c, argc - i, argv + i, pre, npre);
}

int main (int argc, char **argv)
{
    char **pre = qy_calloc ((size_t) argc + 1, sizeof (char *));
    int rc = s_main (argc, argv, pre);
    free (pre);
    if (s_conn)
        PQfinish (s_conn);
    return rc;
}
