//  qyctl: the operators' command line. Each command is a function taking
//  its own argv (argv[0] is the command word); they share a PostgreSQL
//  connection from --dsn or QY_PG_DSN.
#ifndef QYCTL_H
#define QYCTL_H
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "qunyun.pb-c.h"

//  The connection (opened on first use; exits 1 with a message if it cannot).
PGconn *qyctl_pg (void);
//  Run SQL with text params; on error prints it and exits 1. Caller PQclears.
PGresult *qyctl_exec (const char *sql, int n, const char *const *params);
//  Print a result as an aligned table, CSV or JSON (format "table"|"csv"|"json").
void qyctl_print (PGresult *res, const char *format);
//  Brand id of a code; exits 1 with a message if unknown.
int64_t qyctl_brand_id (const char *code);
//  Value of --name in argv (NULL if absent); flags without value: qyctl_flag.
const char *qyctl_opt (int argc, char **argv, const char *name, const char *def);
bool qyctl_flag (int argc, char **argv, const char *name);
//  The n-th positional argument after the command word (skipping --opts and their values).
const char *qyctl_arg (int argc, char **argv, int n);
//  The integer s (a decimal number, nothing after it) within [min, max];
//  exits 1 with a message naming what (an option or argument) otherwise.
long qyctl_long (const char *what, const char *s, long min, long max);
void qyctl_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
//  Print the rows of a brand-scoped query ($1 is the brand id of code brand).
void qyctl_list (const char *sql, const char *brand, int argc, char **argv);
//  Record an operator's action in audit_log (actor: $QY_OPERATOR, else $USER).
void qyctl_audit (int64_t brand_id, const char *action, const char *type, const char *id);
//  The same with a detail (a JSON object, NULL for none).
void qyctl_audit_detail (int64_t brand_id, const char *action, const char *type, const char *id, const char *detail);

int qyctl_migrate (int argc, char **argv);
int qyctl_brand (int argc, char **argv);
int qyctl_region (int argc, char **argv);
int qyctl_store (int argc, char **argv);
int qyctl_group (int argc, char **argv);
int qyctl_channel (int argc, char **argv);
int qyctl_rules (int argc, char **argv);
int qyctl_campaign (int argc, char **argv);
int qyctl_demo (int argc, char **argv);
int qyctl_violations (int argc, char **argv);
int qyctl_deliveries (int argc, char **argv);
int qyctl_deadletters (int argc, char **argv);
int qyctl_report (int argc, char **argv);
int qyctl_send (int argc, char **argv);
int qyctl_housekeep (int argc, char **argv);
//  Send one packed Batch to ingest (DEALER) and wait for its Ack: NULL,
//  with a message on stderr, when none came back. Caller frees it.
//  With batch_id, Acks of other batches (late answers to an earlier call
//  that timed out) are read and dropped until this one's comes.
Qy__Ack *qyctl_ingest_call (void *dealer, const void *data, size_t len, const char *batch_id, int timeout_ms);
//  The same for events, packed into one Batch.
Qy__Ack *qyctl_ingest_batch (void *dealer, const char *batch_id, Qy__Event **evs, size_t n, int timeout_ms);
int qyctl_replay (int argc, char **argv);
int qyctl_moderation (int argc, char **argv);
int qyctl_moderation_list (int argc, char **argv);
int qyctl_moderation_replies (int argc, char **argv);
int qyctl_gateway (int argc, char **argv);
#endif
