//  qyctl's option parsing: getopt_long driven by a command's table
//  (qyctl.h). Everything a command line may be wrong about is found here,
//  before the command runs, so that nothing is ever done on a line that was
//  not understood: an unknown option, a missing value, a value outside its
//  known set, too few or too many arguments. --help prints the usage and
//  exits 0 wherever it stands (before "--").
#include "qyctl.h"
#include "qy/util.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const qyctl_formats [] = { "table", "csv", "json", NULL };

//  Taken by every command, before or after it (qyctl.c reads them too).
static const qyctl_option_t s_global [] = {
    { "dsn",    QYCTL_VALUE, "DSN", "PostgreSQL connection (default: $QY_PG_DSN)" },
    { "format", QYCTL_VALUE, "F",   "output: table, csv or json", qyctl_formats },
    { "excel",  QYCTL_FLAG,  NULL,  "CSV starts with a UTF-8 BOM (Excel on Chinese Windows)" },
    { "help",   QYCTL_FLAG,  NULL,  "this help; does nothing else" },
    { NULL }
};
static const qyctl_option_t s_yes = { "yes", QYCTL_FLAG, NULL, "go ahead without asking (required without a terminal)" };

//  What the command line said: every option given, in order, and the words.
typedef struct {
    const qyctl_option_t *opt;
    const char *value;
} s_given_t;

static struct {
    const qyctl_command_t *cmd;
    s_given_t *given;
    size_t ngiven;
    const char **words;             //  after the command word: subcommand words, then arguments
    int nwords, skip;               //  skip: how many of them are subcommand words
    char **dashed;                  //  qyctl_passthrough's "--name" strings
    size_t ndashed;
} s_parsed;

static size_t s_count (const qyctl_option_t *opts)
{
    size_t n = 0;
    while (opts && opts [n].name)
        n++;
    return n;
}

static size_t s_nwords (const char *name)
{
    size_t n = 0;
    for (const char *p = name; *p; p++)
        n += *p == ' ';
    return n;
}

static void s_print_opt (const qyctl_option_t *o, FILE *f)
{
    char left [64];
    qy_snprintf (left, sizeof (left), "--%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
    fprintf (f, "  %-24s %s", left, o->help ? o->help : "");
    if (o->choices) {
        fprintf (f, " (");
        for (size_t i = 0; o->choices [i]; i++)
            fprintf (f, "%s%s", i ? ", " : "", o->choices [i]);
        fprintf (f, ")");
    }
    fprintf (f, "\n");
}

void qyctl_print_usage (const qyctl_command_t *cmd, FILE *f)
{
    fprintf (f, "usage: qyctl %s%s%s%s\n", cmd->name, *cmd->args ? " " : "", cmd->args,
             s_count (cmd->options) || (cmd->flags & QYCTL_CONFIRM) ? " [options]" : "");
    fprintf (f, "  %s\n", cmd->help);
    if (s_count (cmd->options) || (cmd->flags & QYCTL_CONFIRM)) {
        fprintf (f, "options:\n");
        for (size_t i = 0; i < s_count (cmd->options); i++)
            s_print_opt (&cmd->options [i], f);
        if (cmd->flags & QYCTL_CONFIRM)
            s_print_opt (&s_yes, f);
    }
    fprintf (f, "global options (before or after the command):\n");
    for (size_t i = 0; s_global [i].name; i++)
        s_print_opt (&s_global [i], f);
}

void qyctl_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qyctl_vsay (fmt, ap);
    va_end (ap);
    if (s_parsed.cmd)
        qyctl_print_usage (s_parsed.cmd, stderr);
    exit (QYCTL_USAGE);
}

static bool s_allowed (const qyctl_option_t *o, const char *value)
{
    if (!o->choices)
        return true;
    for (size_t i = 0; o->choices [i]; i++)
        if (strcmp (o->choices [i], value) == 0)
            return true;
    return false;
}

//  The table getopt_long reads: the command's options, --yes, the globals.
//  Returns the rows and fills by (the qyctl option of each getopt row).
static struct option *s_long_options (const qyctl_command_t *cmd, const qyctl_option_t ***by)
{
    size_t n = s_count (cmd->options), ng = s_count (s_global), k = 0;
    struct option *lo = qy_calloc (n + ng + 2, sizeof (struct option));
    *by = qy_calloc (n + ng + 2, sizeof (qyctl_option_t *));
    for (size_t i = 0; i < n + ng + 1; i++) {
        const qyctl_option_t *o = i < n ? &cmd->options [i] : i < n + ng ? &s_global [i - n]
                                : (cmd->flags & QYCTL_CONFIRM) ? &s_yes : NULL;
        if (!o)
            continue;
        (*by) [k] = o;
        lo [k] = (struct option) { o->name, o->kind == QYCTL_VALUE ? required_argument : no_argument, NULL, (int) (256 + k) };
        k++;
    }
    return lo;
}

//  --help anywhere before "--" wins over everything else on the line.
static bool s_wants_help (int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp (argv [i], "--"); i++)
        if (!strcmp (argv [i], "--help") || !strcmp (argv [i], "-h"))
            return true;
    return false;
}

void qyctl_parse (const qyctl_command_t *cmd, int argc, char **argv)
{
    s_parsed.cmd = cmd;
    if (s_wants_help (argc, argv)) {
        qyctl_print_usage (cmd, stdout);
        exit (QYCTL_OK);
    }
    const qyctl_option_t **by;
    struct option *lo = s_long_options (cmd, &by);
    s_parsed.given = qy_calloc ((size_t) argc + 1, sizeof (s_given_t));
    opterr = 0;
    optind = 1;
    int c, at;
    //  "-" first: arguments are returned in place (code 1), so options may
    //  stand before or after them and argv is not reordered.
    const char **args = qy_calloc ((size_t) argc + 1, sizeof (char *));
    int nargs = 0;
    while ((c = getopt_long (argc, argv, "-:", lo, &at)) != -1) {
        if (c == 1)
            args [nargs++] = optarg;
        else
        if (c == ':')
            qyctl_usage_error ("%s needs a value", argv [optind - 1]);
        else
        if (c == '?')
            qyctl_usage_error ("unknown option %s for '%s'", argv [optind - 1], cmd->name);
        else {
            const qyctl_option_t *o = by [c - 256];
            if (optarg && !s_allowed (o, optarg)) {
                qy_buf_t known;
                qy_buf_init (&known);
                for (size_t i = 0; o->choices [i]; i++)
                    qy_buf_printf (&known, "%s%s", i ? ", " : "", o->choices [i]);
                qyctl_usage_error ("--%s: '%s' is not one of %s", o->name, optarg, known.data);
            }
            s_parsed.given [s_parsed.ngiven++] = (s_given_t) { o, optarg };
        }
    }
    while (optind < argc)               //  what follows "--"
        args [nargs++] = argv [optind++];
    free (lo);
    free (by);
    if (nargs < cmd->min_args)
        qyctl_usage_error ("'%s' needs %s", cmd->name, *cmd->args ? cmd->args : "no arguments");
    if (cmd->max_args >= 0 && nargs > cmd->max_args)
        qyctl_usage_error ("unexpected argument '%s'", args [cmd->max_args]);
    //  The words after the command word: its subcommand words, then the arguments.
    int skip = (int) s_nwords (cmd->name);
    s_parsed.words = qy_calloc ((size_t) (skip + nargs) + 1, sizeof (char *));
    const char *w = strchr (cmd->name, ' ');
    for (int i = 0; i < skip; i++) {
        const char *end = strchr (w + 1, ' ');
        s_parsed.words [i] = qy_strndup (w + 1, end ? (size_t) (end - w - 1) : strlen (w + 1));
        w = end;
    }
    memcpy (s_parsed.words + skip, args, sizeof (char *) * (size_t) nargs);
    s_parsed.nwords = skip + nargs;
    s_parsed.skip = skip;
    free (args);
}

static const s_given_t *s_find (const char *name)
{
    while (*name == '-')
        name++;
    const s_given_t *last = NULL;
    for (size_t i = 0; i < s_parsed.ngiven; i++)
        if (strcmp (s_parsed.given [i].opt->name, name) == 0)
            last = &s_parsed.given [i];
    return last;
}

const char *qyctl_opt (const char *name, const char *def)
{
    const s_given_t *g = s_find (name);
    return g && g->value ? g->value : def;
}

bool qyctl_flag (const char *name)
{
    return s_find (name) != NULL;
}

const char *qyctl_arg (int n)
{
    return n >= 0 && n < s_parsed.nwords ? s_parsed.words [n] : NULL;
}

int qyctl_nargs (void)
{
    return s_parsed.nwords;
}

static bool s_is_global (const qyctl_option_t *o)
{
    return o >= s_global && o < s_global + QY_ARRAY_LEN (s_global);
}

char **qyctl_passthrough (const char *first, int *argc)
{
    char **v = qy_calloc (s_parsed.ngiven * 2 + (size_t) s_parsed.nwords + 2, sizeof (char *));
    int n = 0;
    v [n++] = (char *) first;
    for (size_t i = 0; i < s_parsed.ngiven; i++) {
        if (s_is_global (s_parsed.given [i].opt))
            continue;
        //  kept with the parse (read until exit), not the caller's to free
        s_parsed.dashed = qy_realloc (s_parsed.dashed, sizeof (char *) * (s_parsed.ndashed + 1));
        v [n++] = s_parsed.dashed [s_parsed.ndashed++] = qy_printf ("--%s", s_parsed.given [i].opt->name);
        if (s_parsed.given [i].value)
            v [n++] = (char *) s_parsed.given [i].value;
    }
    for (int i = s_parsed.skip; i < s_parsed.nwords; i++)
        v [n++] = (char *) s_parsed.words [i];
    *argc = n;
    return v;
}

void qyctl_confirm (const char *what)
{
    if (qyctl_flag ("yes"))
        return;
    if (!isatty (STDIN_FILENO)) {
        fprintf (stderr, "qyctl: %s: not done; without a terminal to ask on, pass --yes to go ahead\n", what);
        exit (QYCTL_USAGE);
    }
    fprintf (stderr, "%s. Go ahead? [y/N] ", what);
    fflush (stderr);
    char line [16] = "";
    if (!fgets (line, sizeof (line), stdin) || (line [0] != 'y' && line [0] != 'Y')) {
        fprintf (stderr, "qyctl: nothing done\n");
        exit (QYCTL_FAILED);
    }
}
