//  Numbered, forward-only migrations: NNN_name.sql applied in order, each in
//  its own transaction, recorded in schema_migrations. An advisory lock
//  makes concurrent runs (several replicas starting at once) safe.
#include "qyctl.h"
#include "qy/util.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int qyctl_migrate (int argc, char **argv)
{
    const char *dir = qyctl_opt (argc, argv, "--dir", getenv ("QY_MIGRATIONS_DIR"));
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
    PQclear (qyctl_exec ("SELECT pg_advisory_lock (7405001)", 0, NULL));
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
        PQclear (qyctl_exec ("BEGIN", 0, NULL));
        res = PQexec (qyctl_pg (), sql);
        if (PQresultStatus (res) != PGRES_COMMAND_OK && PQresultStatus (res) != PGRES_TUPLES_OK)
            qyctl_die ("migration %s failed: %s", files [i], PQresultErrorMessage (res));
        PQclear (res);
        PQclear (qyctl_exec ("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, p));
        PQclear (qyctl_exec ("COMMIT", 0, NULL));
        printf ("applied %s\n", files [i]);
        applied++;
        free (sql);
        free (path);
    }
    PQclear (qyctl_exec ("SELECT pg_advisory_unlock (7405001)", 0, NULL));
    printf ("migrations: %d applied, %zu total\n", applied, n);
    for (size_t i = 0; i < n; i++)
        free (files [i]);
    free (files);
    return 0;
}
