//  Numbered, forward-only migrations: NNN_name.sql applied in order, each in
//  its own transaction, recorded in schema_migrations. An advisory lock
//  makes concurrent runs (several replicas starting at once) safe.
//
//  A migration whose first line is "-- qy:no-transaction" runs outside a
//  transaction, one statement at a time (a statement ends with ';' at the
//  end of a line; no dollar quoting there): CREATE INDEX CONCURRENTLY builds
//  an index without holding writes to its table, which no transaction may
//  do. It is recorded only once every statement went through, so a failed
//  run is run again whole: write it to be repeatable (DROP INDEX
//  CONCURRENTLY IF EXISTS before each build also clears the invalid index a
//  failed build leaves).
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/util.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *s_read (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        qyctl_die ("cannot read %s", path);
    qy_buf_t b;
    qy_buf_init (&b);
    char chunk [8192];
    size_t n;
    while ((n = fread (chunk, 1, sizeof (chunk), f)) > 0)
        qy_buf_append (&b, chunk, n);
    fclose (f);
    return b.data;
}

#define S_NO_TRANSACTION "-- qy:no-transaction"

//  Run sql; exits naming the migration when PostgreSQL refuses it.
static void s_apply (const char *file, const char *sql)
{
    PGresult *res = PQexec (qyctl_pg (), sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK && PQresultStatus (res) != PGRES_TUPLES_OK)
        qyctl_die ("migration %s failed: %s", file, PQresultErrorMessage (res));
    PQclear (res);
}

//  A no-transaction migration: each statement on its own.
static void s_apply_each (const char *file, char *sql)
{
    char *start = sql;
    for (char *line = sql; *line; ) {
        char *end = line + strcspn (line, "\n");
        char *last = end;
        while (last > line && (last [-1] == ' ' || last [-1] == '\t' || last [-1] == '\r'))
            last--;
        bool more = *end != 0;
        const char *text = line + strspn (line, " \t");
        if (strncmp (text, "--", 2) != 0 && last > line && last [-1] == ';') {
            *end = 0;
            s_apply (file, start);
            start = end + more;
        }
        line = end + more;
    }
    //  What follows the last ';' may only be comments and blank lines.
    for (char *p = start; *p; ) {
        p += strspn (p, " \t\r\n");
        if (strncmp (p, "--", 2) == 0)
            p += strcspn (p, "\n");
        else if (*p)
            qyctl_die ("migration %s: a statement does not end with ';' at the end of a line", file);
    }
}

//  The migration files of the folder (--dir, $QY_MIGRATIONS_DIR, else
//  the source tree's), sorted. Caller frees them.
static char **s_files (size_t *count, const char **dir_out)
{
    const char *dir = qyctl_opt ("dir", getenv ("QY_MIGRATIONS_DIR"));
    if (!dir)
        dir = QY_MIGRATIONS_DIR;
    DIR *d = opendir (dir);
    if (!d)
        qyctl_die ("cannot open migrations folder %s", dir);
    char **files = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir (d)))
        if (strlen (e->d_name) > 8 && e->d_name [0] >= '0' && e->d_name [0] <= '9'
            && strcmp (e->d_name + strlen (e->d_name) - 4, ".sql") == 0) {
            files = qy_realloc (files, sizeof (char *) * (n + 1));
            files [n++] = qy_strdup (e->d_name);
        }
    closedir (d);
    qsort (files, n, sizeof (char *), s_cmp);
    *count = n;
    *dir_out = dir;
    return files;
}

//  migrate status: each migration, applied (when) or pending; and those
//  recorded whose file is not in the folder.
static int s_status (void)
{
    const char *dir;
    size_t n;
    char **files = s_files (&n, &dir);
    qy_pg_cols_t arr;
    qy_pg_cols_init (&arr, 1);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&arr);
        qy_pg_cols_text (&arr, 0, files [i]);
    }
    PGresult *have = qyctl_exec ("SELECT to_regclass ('schema_migrations') IS NOT NULL", 0, NULL);
    bool table = PQgetvalue (have, 0, 0) [0] == 't';
    PQclear (have);
    const char *p [] = { qy_pg_cols_array (&arr, 0) };
    PGresult *res = qyctl_exec (table
        ? "SELECT coalesce (f.name, m.name) AS migration, CASE WHEN f.name IS NULL THEN 'applied, file missing' "
          "  WHEN m.version IS NULL THEN 'pending' ELSE 'applied' END AS state, date_trunc ('second', m.applied_at) AS applied_at "
          "FROM unnest ($1::text[]) f (name) FULL JOIN schema_migrations m ON m.version = split_part (f.name, '_', 1)::int "
          "ORDER BY coalesce (m.version, split_part (f.name, '_', 1)::int)"
        : "SELECT f.name AS migration, 'pending' AS state, NULL::timestamptz AS applied_at FROM unnest ($1::text[]) f (name) ORDER BY 1",
        1, p);
    int pending = 0;
    for (int r = 0; r < PQntuples (res); r++)
        pending += strcmp (PQgetvalue (res, r, 1), "pending") == 0;
    const char *format = qyctl_opt ("format", "table");
    qyctl_print (res, format);
    if (strcmp (format, "table") == 0)
        printf ("migrations in %s: %zu, %d pending\n", dir, n, pending);
    PQclear (res);
    qy_pg_cols_free (&arr);
    for (size_t i = 0; i < n; i++)
        free (files [i]);
    free (files);
    return 0;
}

int qyctl_migrate (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    if (qyctl_arg (0))
        return s_status ();
    const char *dir;
    size_t n;
    char **files = s_files (&n, &dir);
    //  Wait for the lock by trying, not inside one long pg_advisory_lock:
    //  a statement waiting there holds a snapshot, and the run holding the
    //  lock would wait for it in CREATE INDEX CONCURRENTLY (a deadlock).
    for (int tries = 0; ; tries++) {
        PGresult *res = qyctl_exec ("SELECT pg_try_advisory_lock (7405001)", 0, NULL);
        bool locked = strcmp (PQgetvalue (res, 0, 0), "t") == 0;
        PQclear (res);
        if (locked)
            break;
        if (tries == 0)
            fprintf (stderr, "waiting for another qyctl migrate to finish\n");
        usleep (200 * 1000);
    }
    PQclear (qyctl_exec ("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now ())", 0, NULL));
    int applied = 0;
    for (size_t i = 0; i < n; i++) {
        char version [16];
        qy_snprintf (version, sizeof (version), "%d", atoi (files [i]));
        const char *p [] = { version, files [i] };
        PGresult *res = qyctl_exec ("SELECT 1 FROM schema_migrations WHERE version = $1", 1, p);
        bool done = PQntuples (res) > 0;
        PQclear (res);
        if (done)
            continue;
        char *path = qy_printf ("%s/%s", dir, files [i]);
        char *sql = s_read (path);
        bool no_transaction = strncmp (sql, S_NO_TRANSACTION, strlen (S_NO_TRANSACTION)) == 0;
        if (no_transaction)
            s_apply_each (files [i], sql);
        else {
            PQclear (qyctl_exec ("BEGIN", 0, NULL));
            s_apply (files [i], sql);
        }
        PQclear (qyctl_exec ("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, p));
        if (!no_transaction)
            PQclear (qyctl_exec ("COMMIT", 0, NULL));
        qyctl_item ((const char *[]) { "migration", files [i], "transaction", no_transaction ? "false" : "true", NULL },
                    "applied %s%s", files [i], no_transaction ? " (no transaction)" : "");
        applied++;
        free (sql);
        free (path);
    }
    PQclear (qyctl_exec ("SELECT pg_advisory_unlock (7405001)", 0, NULL));
    char na [16], nt [16];
    qy_snprintf (na, sizeof (na), "%d", applied);
    qy_snprintf (nt, sizeof (nt), "%zu", n);
    if (!qyctl_items_end ("applied", (const char *[]) { "total", nt, NULL }))
        printf ("migrations: %s applied, %s total\n", na, nt);
    for (size_t i = 0; i < n; i++)
        free (files [i]);
    free (files);
    return 0;
}

static const qyctl_option_t s_migrate_opts [] = {
    { "dir", QYCTL_VALUE, "DIR", "the migrations (default $QY_MIGRATIONS_DIR, else the source tree's)" },
    { NULL }
};
const qyctl_command_t qyctl_migrate_commands [] = {
    { "migrate", "", 0, 0, s_migrate_opts, "apply the SQL migrations not applied yet (safe to run twice)" },
    { "migrate status", "", 0, 0, s_migrate_opts, "each migration, applied (when) or pending" },
    { NULL }
};
