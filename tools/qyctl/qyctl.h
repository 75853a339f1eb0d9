//  qyctl: the operators' command line. Each command is a function taking
//  its own argv (argv[0] is the command word); they share a PostgreSQL
//  connection from --dsn or QY_PG_DSN.
#ifndef QYCTL_H
#define QYCTL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <libpq-fe.h>
#include "qunyun.pb-c.h"

//  The connection (opened on first use; exits 1 with a message if it cannot).
PGconn *qyctl_pg (void);
//  Run SQL with text params; on error prints it and exits 1. Caller PQclears.
PGresult *qyctl_exec (const char *sql, int n, const char *const *params);
//  Print a result as an aligned table, CSV or JSON (format "table"|"csv"|"json");
//  --excel puts a UTF-8 BOM before CSV.
void qyctl_print (PGresult *res, const char *format);
//  What a command that changed one thing did: the line (fmt) or, with
//  --format json, one object of pairs (key, value, …, NULL; digits print
//  as a number, true/false as a boolean, NULL as null).
void qyctl_ack (const char *const *pairs, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
//  A report of items, one line each (fmt); with --format json one object
//  {name: [the items' objects], the summary pairs…} that qyctl_items_end
//  prints (it returns false, printing nothing, otherwise).
void qyctl_item (const char *const *pairs, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
bool qyctl_items_end (const char *name, const char *const *pairs);
//  One CSV row (RFC 4180), after the UTF-8 BOM once when --excel is given;
//  n < 0: only that BOM.
void qyctl_csv_row (const char *const *fields, int n);
//  Rows built in C as a JSON array of objects, typed by columns ("id bigint,
//  name text", jsonb_to_recordset), to print with qyctl_print. Caller PQclears.
PGresult *qyctl_json_table (const char *json_rows, const char *columns);
//  One section of a report of several: in JSON all of them make one object
//  {"name": [rows], …} (end it with qyctl_sections_end); in a table a
//  title before each.
void qyctl_section (const char *name, PGresult *res, const char *format);
void qyctl_sections_end (const char *format);
//  A secret (a token, a signing secret): the first line of --NAME-file FILE
//  ("-": standard input), else $env, else NULL. --NAME itself (the value on
//  the command line, which every user sees in ps) is refused, exit 2; keep
//  it in the command's table so that the refusal says what to use. Caller
//  frees it.
char *qyctl_secret (const char *name, const char *env);
//  A progress line for long jobs, on a terminal only (stderr a tty): it
//  updates in place (done / total, rate, time left) at most five times a
//  second and is wiped at the end; in scripts nothing is printed.
typedef struct {
    const char *what;
    long total;                 //  0: not known
    int64_t start_us, shown_us;
    bool on;
} qyctl_progress_t;
void qyctl_progress_start (qyctl_progress_t *self, const char *what, long total);
void qyctl_progress (qyctl_progress_t *self, long done);
void qyctl_progress_end (qyctl_progress_t *self);
//  Brand id of a code; exits 1 with a message if unknown.
int64_t qyctl_brand_id (const char *code);
//  ------------------------------------------------------------ options
//  Every command is parsed by getopt_long from a table, in qyctl_args.c,
//  before it runs and before any connection is made. To add a command:
//
//    static const qyctl_option_t s_list_opts [] = {
//        { "limit",   QYCTL_VALUE, "N", "rows to show (default 50)" },
//        { "status",  QYCTL_VALUE, "S", "only rows in that state", s_states },  //  NULL-ended known set
//        { "dry-run", QYCTL_FLAG,  NULL, "say what would change; change nothing" },
//        { NULL }
//    };
//    const qyctl_command_t qyctl_thing_commands [] = {
//        { "thing list", "BRAND", 1, 1, s_list_opts, "list the brand's things" },
//        { "thing drop", "BRAND ID…", 2, -1, NULL, "drop things", QYCTL_CONFIRM },
//        { NULL }
//    };
//
//  and one line in qyctl.c's dispatch table:
//    { "thing", qyctl_thing, "thing list|drop …", qyctl_thing_commands },
//
//  The function is then called with argv = the command's words and its
//  positional arguments only (options taken out): read them with
//  qyctl_arg (n) (n counts from the word after the command, subcommand
//  words included) and the options with qyctl_opt / qyctl_flag. Before it
//  runs, qyctl has already refused (exit 2, a one-line message and the
//  usage on stderr) an unknown option, a missing value, a value outside its
//  known set and too few or too many arguments; --help printed the usage
//  and exited 0. Global options (--dsn, --format, --excel, --help) are taken
//  before or after the command. A QYCTL_CONFIRM command gets --yes; call
//  qyctl_confirm before it changes anything.
typedef enum { QYCTL_FLAG, QYCTL_VALUE } qyctl_kind_t;

typedef struct {
    const char *name;               //  long name, without the dashes
    qyctl_kind_t kind;
    const char *value;              //  what the value is, for the usage ("N", "FILE")
    const char *help;
    const char *const *choices;     //  the values allowed (NULL-ended), NULL for any
} qyctl_option_t;

#define QYCTL_CONFIRM 1             //  changes data: --yes, and qyctl_confirm

typedef struct {
    const char *name;               //  its words: "deadletters replay"
    const char *args;               //  its positional arguments, for the usage ("BRAND ID…")
    int min_args, max_args;         //  how many, after its words (max -1: no limit)
    const qyctl_option_t *options;  //  ended by { NULL }; NULL for none
    const char *help;               //  one line: what it does
    int flags;                      //  QYCTL_CONFIRM
} qyctl_command_t;

//  Exit statuses of every command (docs/operations.md).
enum { QYCTL_OK = 0, QYCTL_FAILED = 1, QYCTL_USAGE = 2, QYCTL_PARTIAL = 3 };

//  The formats of --format, for option tables.
extern const char *const qyctl_formats [];
//  Parse argv (argv [0] the first word after the command's words) for cmd.
//  Exits 0 after --help, 2 on a usage error; otherwise the values are kept
//  for qyctl_opt, qyctl_flag and qyctl_arg. qyctl's main calls it.
void qyctl_parse (const qyctl_command_t *cmd, int argc, char **argv);
//  The value of option name ("limit" or "--limit"), def when not given.
const char *qyctl_opt (const char *name, const char *def);
//  Whether flag name was given.
bool qyctl_flag (const char *name);
//  The n-th word after the command (subcommand words count), NULL past the end.
const char *qyctl_arg (int n);
//  How many words follow the command.
int qyctl_nargs (void);
//  A usage error found by the command itself: the message, the usage on
//  stderr, exit 2. Call it before anything is changed.
void qyctl_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
//  Before a command changes data: goes on with --yes; on a terminal asks
//  (what: what is about to happen) and exits 1 unless the answer is yes;
//  in a script (stdin not a terminal) without --yes exits 2 saying so.
void qyctl_confirm (const char *what);
//  argv for a tool with its own parser: first, the options given (not the
//  global ones) in their order, then the arguments after the command's
//  words. Caller frees the array (not the strings).
char **qyctl_passthrough (const char *first, int *argc);
//  Print the usage of cmd (to f): its synopsis, help and options.
void qyctl_print_usage (const qyctl_command_t *cmd, FILE *f);

//  The integer s (a decimal number, nothing after it) within [min, max];
//  exits 1 with a message naming what (an option or argument) otherwise.
long qyctl_long (const char *what, const char *s, long min, long max);
//  "qyctl: " and the message on stderr.
void qyctl_vsay (const char *fmt, va_list ap);
void qyctl_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
//  Print the rows of a brand-scoped query ($1 is the brand id of code brand).
void qyctl_list (const char *sql, const char *brand);
//  Record an operator's action in audit_log (actor: $QY_OPERATOR, else $USER).
void qyctl_audit (int64_t brand_id, const char *action, const char *type, const char *id);
//  The same with a detail (a JSON object, NULL for none).
void qyctl_audit_detail (int64_t brand_id, const char *action, const char *type, const char *id, const char *detail);

//  The commands' parsing tables (each file's, ended by { NULL }).
extern const qyctl_command_t qyctl_migrate_commands [], qyctl_brand_commands [], qyctl_region_commands [],
    qyctl_store_commands [], qyctl_group_commands [], qyctl_channel_commands [], qyctl_rules_commands [],
    qyctl_campaign_commands [], qyctl_demo_commands [], qyctl_violations_commands [], qyctl_deliveries_commands [],
    qyctl_deadletters_commands [], qyctl_report_commands [], qyctl_gateway_commands [], qyctl_replay_commands [],
    qyctl_housekeep_commands [], qyctl_send_commands [], qyctl_moderation_commands [], qyctl_member_commands [], qyctl_voc_commands [],
    qyctl_status_commands [], qyctl_wecom_commands [], qyctl_tasks_commands [], qyctl_user_commands [];
extern const qyctl_command_t qyctl_gatekey_commands [];   //  qyctl_gatekey.c
//  A socket qyctl pushes onto a bus hop with: a CURVE client when the hops
//  use CURVE ($QY_ZMQ_CURVE_SERVER_KEY, and qyctl's own secret key in
//  $QY_ZMQ_CURVE_SECRET_KEY[_FILE]); nothing on plain hops. Before connect.
void qyctl_hop_curve (void *sock);
//  qyctl_gatecred.c: a gateway's signing secret sealed under the master key
//  ($QY_INGEST_GATEWAY_MASTER_KEY_FILE); NULL when that is not set. Caller
//  frees it. And `gateway credential rotate`, with its options.
char *qyctl_seal_gateway_secret (const char *plain);
int qyctl_gateway_credential_rotate (void);
extern const qyctl_option_t qyctl_gatecred_rotate_opts [];
//  --days of member show and group show (qyctl_profile.c).
extern const qyctl_option_t qyctl_show_opts [];
int qyctl_member (int argc, char **argv);
int qyctl_status (int argc, char **argv);
int qyctl_group_show (void);

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
//  The same for events, packed into one Batch; a busy answer is sent again
//  after the pause it asks for, within timeout_ms of the first send.
Qy__Ack *qyctl_ingest_batch (void *dealer, const char *batch_id, Qy__Event **evs, size_t n, int timeout_ms);
int qyctl_replay (int argc, char **argv);
int qyctl_moderation (int argc, char **argv);
int qyctl_moderation_list (void);
int qyctl_moderation_replies (void);
int qyctl_gateway (int argc, char **argv);
int qyctl_gatekey (int argc, char **argv);
int qyctl_voc (int argc, char **argv);
int qyctl_wecom (int argc, char **argv);
int qyctl_tasks (int argc, char **argv);
//  The staff task sections of a report (brand id, window of dates or NULL);
//  unless always, only for a brand that has tasks.
void qyctl_tasks_report (const char *bid, const char *since, const char *until, const char *format, bool always);
//  For a brand on WeCom's official API, SOP compliance as staff sent it
//  (p: brand id, since, until as campaign report reads them); nothing otherwise.
void qyctl_tasks_compliance (const char *const *p, const char *format);
int qyctl_user (int argc, char **argv);
#endif
