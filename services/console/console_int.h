//  Inside qy-console: one request as the handlers see it, the connection
//  pool, and the helpers every endpoint uses.
#ifndef CONSOLE_INT_H
#define CONSOLE_INT_H
#include "console.h"
#include <microhttpd.h>

typedef struct console_db_t console_db_t;

typedef struct {
    struct MHD_Connection   *conn;
    const console_config_t  *cfg;
    console_db_t            *db;
    const char              *method;
    const char              *url;
    char                    *path;          //  url copy, split into seg
    char                    *seg [8];       //  path segments after /api/v1/
    int                      nseg;
    qy_buf_t                 body;
    bool                     too_large;
    json_t                  *json;          //  parsed body, when there is one
    console_principal_t      who;
    bool                     authed;
    PGconn                  *pg;            //  inside the request's scoped transaction
    int                      slot;
    char                     addr [64];
    //  The response.
    unsigned                 status;
    qy_buf_t                 out;
    const char              *type;
    char                    *cookie;        //  Set-Cookie value
    char                    *disposition;   //  Content-Disposition (exports)
    bool                     failed;        //  roll the transaction back
} console_req_t;

//  ------------------------------------------------------------ pool

console_db_t *console_db_new (const char *dsn, int n);
void console_db_destroy (console_db_t **self_p);
//  A connection for this request (waits up to 5 s for a free one); NULL
//  when none is free or PostgreSQL cannot be reached.
PGconn *console_db_take (console_db_t *self, int *slot);
void console_db_give (console_db_t *self, int slot);
//  Whether at least one connection is up (for /health).
bool console_db_up (console_db_t *self);

//  ------------------------------------------------------------ replies

//  A JSON error {"error": msg} with status; logs 5xx.
void console_error (console_req_t *r, unsigned status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
//  Run SQL on the request's connection: NULL (and a 500 reply) on error;
//  a 22xxx data error (a bad value in a parameter) is answered 400.
PGresult *console_sql (console_req_t *r, const char *sql, int n, const char *const *p);
//  Run SQL whose single row and column is JSON text and reply it with 200,
//  or 404 (what) when there is no row or it is NULL.
void console_sql_json (console_req_t *r, const char *what, const char *sql, int n, const char *const *p);
//  A query-string value (NULL when absent or empty).
const char *console_arg (console_req_t *r, const char *name);
//  Record a change (or a read that must be traced) in audit_log as
//  "console:<login>". detail is a JSON object or NULL. False on error (replied).
bool console_audit (console_req_t *r, const char *brand_id, const char *action, const char *type,
                    const char *id, const char *detail);
//  The brand id the principal's scope writes into (its own brand; an admin
//  must have chosen one with ?brand=), as text; NULL (and a 400) if none.
const char *console_brand (console_req_t *r);
//  The brand an audited change belongs to: the user's own, or for a
//  platform admin the changed row's (row_brand, may be NULL).
const char *console_brand_of (console_req_t *r, const char *row_brand);
//  Reply status with body text (JSON) and a newline.
void console_reply (console_req_t *r, unsigned status, const char *json);
//  Audit a change with the request's body as detail, then reply json (200).
void console_audited_reply (console_req_t *r, const char *brand_id, const char *action, const char *type,
                            const char *id, const char *json);
//  The days= parameter (def when absent, 1..max) as text in d; false with a 400 reply.
bool console_days_arg (console_req_t *r, long def, long max, char d [24]);
//  Whether the principal has one of the roles in mask; replies 403 if not.
bool console_allow (console_req_t *r, unsigned mask);

//  ------------------------------------------------------------ auth

//  Find who is asking from the session cookie or the bearer token;
//  false when neither is valid (nothing replied).
bool console_auth_lookup (console_req_t *r);
//  Scope the request's transaction (BEGIN and the SET LOCALs of 099).
bool console_auth_scope (console_req_t *r);
void console_auth_login (console_req_t *r);
void console_auth_logout (console_req_t *r);
void console_auth_me (console_req_t *r);
void console_tokens_list (console_req_t *r);
void console_tokens_create (console_req_t *r);
void console_tokens_revoke (console_req_t *r);

//  ------------------------------------------------------------ endpoints

void console_api_groups (console_req_t *r);
void console_api_groups_csv (console_req_t *r);
void console_api_group (console_req_t *r);
void console_api_group_profile (console_req_t *r);
void console_api_group_update (console_req_t *r);
void console_api_member (console_req_t *r);
void console_api_overview (console_req_t *r);
void console_api_search (console_req_t *r);
void console_api_message (console_req_t *r);
void console_api_queue (console_req_t *r);
void console_api_decide (console_req_t *r);
void console_api_stores (console_req_t *r);
void console_api_audit (console_req_t *r);
void console_api_deadletters (console_req_t *r);
void console_api_deadletter_resolve (console_req_t *r);
void console_api_deadletter_replay (console_req_t *r);
void console_api_deliveries (console_req_t *r);
void console_api_campaigns (console_req_t *r);
void console_api_campaign_validate (console_req_t *r);
void console_api_campaign_apply (console_req_t *r);
void console_api_campaign_pause (console_req_t *r);
void console_api_campaign_resume (console_req_t *r);
void console_api_campaign_report (console_req_t *r);
void console_api_channels (console_req_t *r);
void console_api_rules (console_req_t *r);
void console_api_rules_backtest (console_req_t *r);
void console_api_rules_save (console_req_t *r);
void console_api_tasks (console_req_t *r);
void console_api_task (console_req_t *r);
void console_api_task_done (console_req_t *r);
void console_api_tasks_report (console_req_t *r);
#endif
