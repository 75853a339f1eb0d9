//  A PostgreSQL connection that reconnects with backoff.
//  qy_pg_exec returns NULL only when the server cannot be reached; SQL
//  errors come back as a result whose status says so (see qy_pg_ok).
#ifndef QY_PG_H
#define QY_PG_H
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "qy/util.h"

typedef struct qy_pg_t qy_pg_t;

qy_pg_t *qy_pg_new (const char *dsn);
//  Whether connections made from now on prepare the statements they run a
//  second time (the default; the services set it from `pg.prepare`).
void qy_pg_prepare_default (bool on);
//  The application_name connections made from now on give PostgreSQL
//  unless their DSN names one (the services: "qy-" and their name), so
//  pg_stat_activity, the logs and a benchmark can tell whose a backend is.
void qy_pg_application_default (const char *name);
void qy_pg_destroy (qy_pg_t **self_p);
//  Connect now if not connected (respecting backoff). Returns true if up.
bool qy_pg_connect (qy_pg_t *self);
bool qy_pg_ok (qy_pg_t *self);
PGconn *qy_pg_conn (qy_pg_t *self);
//  Connect if needed and LISTEN on channel; true when listening.
bool qy_pg_listen (qy_pg_t *self, const char *channel);
//  Execute with text parameters. Caller PQclear()s the result.
PGresult *qy_pg_exec (qy_pg_t *self, const char *sql, int nparams, const char *const *params);
//  Execute and check: returns true when the result is COMMAND_OK or
//  TUPLES_OK; otherwise logs the error with the given context and clears
//  it. *res (if given) receives a successful result for the caller.
bool qy_pg_run (qy_pg_t *self, const char *context, const char *sql, int nparams,
                const char *const *params, PGresult **res);
//  ------------------------------------------------------------ pipelines
//  One statement of a pipeline. The caller fills context (for the log),
//  sql, nparams, params (borrowed until qy_pg_pipeline returns) and keep;
//  qy_pg_pipeline fills ok and, when kept, res (the caller PQclear()s it).
typedef struct {
    const char        *context;
    const char        *sql;
    int                nparams;
    const char *const *params;
    bool               keep;
    bool               ok;
    PGresult          *res;
} qy_pg_step_t;

//  Send steps [0 .. n-1] in libpq's pipeline mode with one sync, then read
//  each one's result: one round trip for all of them. Statements are
//  prepared as qy_pg_exec prepares them. Up to the sync they are one
//  transaction (PostgreSQL's implicit one, unless a step opens its own
//  with BEGIN: then the caller ends it, with COMMIT or ROLLBACK on
//  failure). The first step that fails is logged as qy_pg_run logs it
//  (context, sqlstate), its SQLSTATE kept for qy_pg_last_sqlstate; the
//  steps after it are not run, and the transaction fails with it, so ok
//  says which steps ran but nothing of a failed pipeline's transaction
//  is applied. Returns true when every step succeeded. A
//  connection lost on the way is handled as qy_pg_exec handles it (closed,
//  reconnected with backoff): false, no step ok, no result kept.
bool qy_pg_pipeline (qy_pg_t *self, qy_pg_step_t *steps, size_t n);
//  Run one statement under PostgreSQL's generic plan, in one round trip
//  (SET plan_cache_mode, the statement, RESET, pipelined; a failure rolls
//  the SET back with the rest). For a prepared statement that PostgreSQL
//  would otherwise plan afresh at every execution: with a parameter in a
//  LIMIT the generic plan looks dearer than a custom one, so the default
//  mode plans each call (half a millisecond for the notifier's claim, more
//  than running it). The statement must be written so that its generic
//  plan is good (a literal bound on each parameter's LIMIT). Otherwise as
//  qy_pg_run.
bool qy_pg_run_generic (qy_pg_t *self, const char *context, const char *sql, int nparams,
                        const char *const *params, PGresult **res);
//  The same for the statements of a transaction the caller opened: this
//  statement first, and the transaction's statements run generic plans.
#define QY_PG_GENERIC_PLANS "SET LOCAL plan_cache_mode = force_generic_plan"
//  Round trips made on this handle so far (a statement, a prepare, a
//  pipeline each count one): what a caller's work cost in waits.
int64_t qy_pg_round_trips (const qy_pg_t *self);
//  SQLSTATE of a failed result, "" if none.
const char *qy_pg_sqlstate (const PGresult *res);
//  The SQLSTATE of the last qy_pg_run that PostgreSQL refused ("" when the
//  last one succeeded or never reached it): class 22 (data) and 23
//  (constraint) mean the input is at fault, others the moment.
const char *qy_pg_last_sqlstate (const qy_pg_t *self);
//  Whether PostgreSQL refused a statement for what it held, so sending it
//  again can never succeed (set the row aside, answer 400), rather than
//  for the moment (connection, lock or statement timeout, cancel,
//  serialization: try again). At fault: class 22 data exception, 23
//  integrity constraint, 54 program limit (an index row too large).
//  sqlstate may be NULL or "" (no answer from the server: not at fault).
bool qy_pg_input_at_fault (const char *sqlstate);
//  Execute with text parameters on a bare connection (a caller's, inside
//  its transaction): the result when COMMAND_OK or TUPLES_OK, else NULL
//  with PostgreSQL's message (its first line) in err.
PGresult *qy_pg_conn_exec (PGconn *conn, const char *sql, int nparams, const char *const *params, char *err, size_t errlen);
//  Integer value of row r column c (0 for NULL).
int64_t qy_pg_int (const PGresult *res, int r, int c);

//  ------------------------------------------------------ text parameters
//  Room for an int64 written as a text parameter, sign and NUL included.
enum { QY_PG_I64_LEN = 24 };
//  Write v in decimal into buf and return buf, so a parameter list reads
//  `const char *p [] = { qy_pg_i64 (b, brand_id), … }`.
const char *qy_pg_i64 (char buf [static QY_PG_I64_LEN], int64_t v);

//  ------------------------------------------- bulk columns for unnest
//  A batch written with one statement: each column is one PostgreSQL array
//  literal, passed as a parameter of `INSERT … SELECT … FROM unnest
//  ($1::bigint[], $2::text[], …)`. Start each row with qy_pg_cols_row, then
//  give every column exactly one value (in any order); qy_pg_cols_params
//  closes the arrays. Memory aborts on exhaustion, like qy_buf.
typedef struct {
    size_t    ncols;
    size_t    nrows;
    bool      closed;
    qy_buf_t *col;
} qy_pg_cols_t;

void qy_pg_cols_init (qy_pg_cols_t *self, size_t ncols);
//  Free the columns; safe to call twice.
void qy_pg_cols_free (qy_pg_cols_t *self);
void qy_pg_cols_row (qy_pg_cols_t *self);
void qy_pg_cols_int (qy_pg_cols_t *self, size_t c, int64_t v);
void qy_pg_cols_bool (qy_pg_cols_t *self, size_t c, bool v);
//  A text element, quoted and escaped; NULL writes SQL NULL.
void qy_pg_cols_text (qy_pg_cols_t *self, size_t c, const char *s);
void qy_pg_cols_null (qy_pg_cols_t *self, size_t c);
//  An element written as is (numbers with a chosen precision, dates):
//  the caller makes sure it needs no quoting.
void qy_pg_cols_printf (qy_pg_cols_t *self, size_t c, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
//  Close the arrays (once; no rows may follow) and store column c's text in
//  params [c]. The texts live until qy_pg_cols_free.
void qy_pg_cols_params (qy_pg_cols_t *self, const char **params);
//  Close the arrays and return column c's text.
const char *qy_pg_cols_array (qy_pg_cols_t *self, size_t c);
//  Initialise self as one bigint[] of v [0 .. n-1] and return its text (a
//  list of ids for `= ANY ($1::bigint[])`); qy_pg_cols_free releases it.
const char *qy_pg_cols_ints (qy_pg_cols_t *self, const int64_t *v, size_t n);

//  ---------------------------------------- statements built, then sent
//  Steps collected for one qy_pg_pipeline (steps [0 .. n-1]), so a writer
//  can build all its statements first and send them in one round trip.
//  A step's columns are taken over and kept, with the parameters pointing
//  into them, until qy_pg_steps_free, which also clears kept results.
typedef struct {
    qy_pg_step_t  *steps;
    qy_pg_cols_t  *cols;
    size_t         n, cap;
} qy_pg_steps_t;

void qy_pg_steps_init (qy_pg_steps_t *self);
//  Add sql with the arrays of *cols (closed here) as $1 … $ncols; *cols
//  is taken over and left empty (NULL: a statement without parameters).
//  Returns the step's index (pointers into steps move as steps grow).
size_t qy_pg_steps_add (qy_pg_steps_t *self, const char *context, const char *sql, qy_pg_cols_t *cols, bool keep);
void qy_pg_steps_free (qy_pg_steps_t *self);
#endif
