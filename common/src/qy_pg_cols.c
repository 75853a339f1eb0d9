//  Text parameters for PostgreSQL: an int64, the per-column array literals
//  of a bulk write through unnest, and the steps of a pipeline built from
//  them. Pure: nothing here connects.
#include "qy/pg.h"
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>

const char *qy_pg_i64 (char buf [static QY_PG_I64_LEN], int64_t v)
{
    qy_snprintf (buf, QY_PG_I64_LEN, "%lld", (long long) v);
    return buf;
}

void qy_pg_cols_init (qy_pg_cols_t *self, size_t ncols)
{
    *self = (qy_pg_cols_t) { .ncols = ncols, .col = qy_calloc (ncols ? ncols : 1, sizeof (qy_buf_t)) };
    for (size_t c = 0; c < ncols; c++) {
        qy_buf_init (&self->col [c]);
        qy_buf_puts (&self->col [c], "{");
    }
}

void qy_pg_cols_free (qy_pg_cols_t *self)
{
    if (!self->col)
        return;
    for (size_t c = 0; c < self->ncols; c++)
        qy_buf_free (&self->col [c]);
    free (self->col);
    self->col = NULL;
}

//  The separator goes in when the row starts, so each value is a plain
//  append whatever order the caller fills the columns in.
void qy_pg_cols_row (qy_pg_cols_t *self)
{
    assert (!self->closed);
    if (self->nrows++)
        for (size_t c = 0; c < self->ncols; c++)
            qy_buf_puts (&self->col [c], ",");
}

static qy_buf_t *s_cell (qy_pg_cols_t *self, size_t c)
{
    assert (!self->closed && self->nrows > 0 && c < self->ncols);
    return &self->col [c];
}

void qy_pg_cols_int (qy_pg_cols_t *self, size_t c, int64_t v)
{
    qy_buf_printf (s_cell (self, c), "%lld", (long long) v);
}

void qy_pg_cols_bool (qy_pg_cols_t *self, size_t c, bool v)
{
    qy_buf_puts (s_cell (self, c), v ? "t" : "f");
}

void qy_pg_cols_text (qy_pg_cols_t *self, size_t c, const char *s)
{
    if (s)
        qy_buf_pg_array_elem (s_cell (self, c), s);
    else
        qy_pg_cols_null (self, c);
}

void qy_pg_cols_null (qy_pg_cols_t *self, size_t c)
{
    qy_buf_puts (s_cell (self, c), "NULL");
}

void qy_pg_cols_printf (qy_pg_cols_t *self, size_t c, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qy_buf_vprintf (s_cell (self, c), fmt, ap);
    va_end (ap);
}

static void s_close (qy_pg_cols_t *self)
{
    if (self->closed)
        return;
    for (size_t c = 0; c < self->ncols; c++)
        qy_buf_puts (&self->col [c], "}");
    self->closed = true;
}

void qy_pg_cols_params (qy_pg_cols_t *self, const char **params)
{
    s_close (self);
    for (size_t c = 0; c < self->ncols; c++)
        params [c] = self->col [c].data;
}

const char *qy_pg_cols_array (qy_pg_cols_t *self, size_t c)
{
    assert (c < self->ncols);
    s_close (self);
    return self->col [c].data;
}

const char *qy_pg_cols_ints (qy_pg_cols_t *self, const int64_t *v, size_t n)
{
    qy_pg_cols_init (self, 1);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (self);
        qy_pg_cols_int (self, 0, v [i]);
    }
    return qy_pg_cols_array (self, 0);
}

void qy_pg_steps_init (qy_pg_steps_t *self)
{
    *self = (qy_pg_steps_t) { 0 };
}

size_t qy_pg_steps_add (qy_pg_steps_t *self, const char *context, const char *sql, qy_pg_cols_t *cols, bool keep)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->steps = qy_realloc (self->steps, self->cap * sizeof (qy_pg_step_t));
        self->cols = qy_realloc (self->cols, self->cap * sizeof (qy_pg_cols_t));
    }
    size_t k = self->n++;
    qy_pg_cols_t *own = &self->cols [k];
    const char **params = NULL;
    *own = (qy_pg_cols_t) { 0 };
    if (cols) {
        *own = *cols;
        *cols = (qy_pg_cols_t) { 0 };
        params = qy_calloc (own->ncols ? own->ncols : 1, sizeof (char *));
        qy_pg_cols_params (own, params);
    }
    self->steps [k] = (qy_pg_step_t) { .context = context, .sql = sql, .nparams = (int) own->ncols,
                                       .params = params, .keep = keep };
    return k;
}

void qy_pg_steps_free (qy_pg_steps_t *self)
{
    for (size_t k = 0; k < self->n; k++) {
        free ((void *) self->steps [k].params);
        PQclear (self->steps [k].res);
        qy_pg_cols_free (&self->cols [k]);
    }
    free (self->steps);
    free (self->cols);
    *self = (qy_pg_steps_t) { 0 };
}
