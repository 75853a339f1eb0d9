//  qy-console's HTTP side: reading requests (bounded bodies, JSON that
//  must parse and be UTF-8), security headers, the route table with the
//  roles each endpoint admits, static pages, and the helpers replies use.
#include "console_int.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/pg.h"
#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static qy_metric_t *m_requests [6], *m_latency;

//  ------------------------------------------------------------ helpers

void console_error (console_req_t *r, unsigned status, const char *fmt, ...)
{
    char msg [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof (msg), fmt, ap);
    va_end (ap);
    qy_buf_reset (&r->out);
    qy_buf_puts (&r->out, "{\"error\":");
    qy_buf_json_str (&r->out, qy_utf8_valid (msg) ? msg : "invalid request");
    qy_buf_puts (&r->out, "}\n");
    r->status = status;
    r->type = "application/json";
    r->failed = true;
    if (status >= 500)
        qy_log_error ("request failed method=%s path=%s status=%u error=%s", r->method, r->url, status, msg);
}

PGresult *console_sql (console_req_t *r, const char *sql, int n, const char *const *p)
{
    PGresult *res = PQexecParams (r->pg, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
    char msg [256];
    qy_snprintf (msg, sizeof (msg), "%s", PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) ?
                 PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage (r->pg));
    if (qy_pg_input_at_fault (state))
        console_error (r, 400, "bad parameter: %s", msg);
    else
        console_error (r, 500, "database error: %s", msg);
    PQclear (res);
    return NULL;
}

void console_sql_json (console_req_t *r, const char *what, const char *sql, int n, const char *const *p)
{
    PGresult *res = console_sql (r, sql, n, p);
    if (!res)
        return;
    if (PQntuples (res) == 0 || PQgetisnull (res, 0, 0))
        console_error (r, 404, "no such %s", what);
    else
        console_reply (r, 200, PQgetvalue (res, 0, 0));
    PQclear (res);
}

const char *console_arg (console_req_t *r, const char *name)
{
    const char *v = MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

bool console_audit (console_req_t *r, const char *brand_id, const char *action, const char *type,
                    const char *id, const char *detail)
{
    char actor [160];
    qy_snprintf (actor, sizeof (actor), "console:%s", r->who.login);
    const char *p [] = { brand_id, actor, action, type, id, detail ? detail : "{}" };
    PGresult *res = console_sql (r, "INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
                                 "VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, p);
    PQclear (res);
    return res != NULL;
}

const char *console_brand (console_req_t *r)
{
    static __thread char id [24];
    if (r->who.brand_id) {
        qy_snprintf (id, sizeof (id), "%lld", (long long) r->who.brand_id);
        return id;
    }
    console_error (r, 400, "a platform admin names the brand: ?brand=CODE");
    return NULL;
}

const char *console_brand_of (console_req_t *r, const char *row_brand)
{
    static __thread char id [24];
    if (!r->who.brand_id)
        return row_brand;
    qy_snprintf (id, sizeof (id), "%lld", (long long) r->who.brand_id);
    return id;
}

void console_reply (console_req_t *r, unsigned status, const char *json)
{
    qy_buf_reset (&r->out);
    qy_buf_printf (&r->out, "%s\n", json);
    r->status = status;
    r->type = "application/json";
}

void console_audited_reply (console_req_t *r, const char *brand_id, const char *action, const char *type,
                            const char *id, const char *json)
{
    char *detail = r->json ? json_dumps (r->json, JSON_COMPACT) : NULL;
    if (console_audit (r, brand_id, action, type, id, detail))
        console_reply (r, 200, json);
    free (detail);
}

bool console_days_arg (console_req_t *r, long def, long max, char d [24])
{
    long days;
    if (console_long_arg (console_arg (r, "days"), def, 1, max, &days)) {
        console_error (r, 400, "bad parameter days: want 1 to %ld", max);
        return false;
    }
    qy_snprintf (d, 24, "%ld", days);
    return true;
}

bool console_allow (console_req_t *r, unsigned mask)
{
    if (r->who.role & mask)
        return true;
    console_error (r, 403, "not allowed for role %s", console_role_name (r->who.role));
    return false;
}

//  ------------------------------------------------------------ routes

typedef struct {
    const char *method;
    const char *pattern;         //  segments after /api/v1/, "*" matches one
    unsigned    roles;           //  who may call it
    void      (*fn) (console_req_t *r);
} console_route_t;

//  The reviewer's whole world is the queue (and its own session).
static const console_route_t s_routes [] = {
    { "GET",    "session",              CONSOLE_ANY,   console_auth_me },
    { "DELETE", "session",              CONSOLE_ANY,   console_auth_logout },
    { "GET",    "tokens",               CONSOLE_ANY,   console_tokens_list },
    { "POST",   "tokens",               CONSOLE_ANY,   console_tokens_create },
    { "DELETE", "tokens/*",             CONSOLE_ANY,   console_tokens_revoke },
    { "GET",    "overview",             CONSOLE_STAFF, console_api_overview },
    { "GET",    "stores",               CONSOLE_STAFF, console_api_stores },
    { "GET",    "groups",               CONSOLE_STAFF, console_api_groups },
    { "GET",    "groups.csv",           CONSOLE_STAFF, console_api_groups_csv },
    { "GET",    "groups/*",             CONSOLE_STAFF, console_api_group },
    { "GET",    "groups/*/profile",     CONSOLE_STAFF, console_api_group_profile },
    { "PATCH",  "groups/*",             CONSOLE_ADMIN | CONSOLE_HQ | CONSOLE_REGION, console_api_group_update },
    { "GET",    "members/*",            CONSOLE_STAFF, console_api_member },
    { "GET",    "search",               CONSOLE_STAFF, console_api_search },
    { "GET",    "messages/*",           CONSOLE_STAFF, console_api_message },
    { "GET",    "queue",                CONSOLE_ANY,   console_api_queue },
    { "POST",   "queue/decide",         CONSOLE_ANY,   console_api_decide },
    { "GET",    "campaigns",            CONSOLE_ADMIN | CONSOLE_HQ | CONSOLE_REGION, console_api_campaigns },
    { "POST",   "campaigns/validate",   CONSOLE_ADMIN | CONSOLE_HQ, console_api_campaign_validate },
    { "POST",   "campaigns/apply",      CONSOLE_ADMIN | CONSOLE_HQ, console_api_campaign_apply },
    { "POST",   "campaigns/*/pause",    CONSOLE_ADMIN | CONSOLE_HQ, console_api_campaign_pause },
    { "POST",   "campaigns/*/resume",   CONSOLE_ADMIN | CONSOLE_HQ, console_api_campaign_resume },
    { "GET",    "campaigns/report",     CONSOLE_ADMIN | CONSOLE_HQ | CONSOLE_REGION, console_api_campaign_report },
    { "GET",    "channels",             CONSOLE_STAFF, console_api_channels },
    { "GET",    "rules",                CONSOLE_ADMIN | CONSOLE_HQ, console_api_rules },
    { "POST",   "rules/backtest",       CONSOLE_ADMIN | CONSOLE_HQ, console_api_rules_backtest },
    { "POST",   "rules",                CONSOLE_ADMIN | CONSOLE_HQ, console_api_rules_save },
    { "GET",    "deliveries",           CONSOLE_ADMIN | CONSOLE_HQ, console_api_deliveries },
    { "GET",    "deadletters",          CONSOLE_ADMIN | CONSOLE_HQ, console_api_deadletters },
    { "POST",   "deadletters/*/resolve", CONSOLE_ADMIN | CONSOLE_HQ, console_api_deadletter_resolve },
    { "POST",   "deadletters/*/replay", CONSOLE_ADMIN | CONSOLE_HQ, console_api_deadletter_replay },
    { "GET",    "audit",                CONSOLE_ADMIN | CONSOLE_HQ, console_api_audit },
    { "GET",    "tasks",                CONSOLE_STAFF, console_api_tasks },
    { "GET",    "tasks/*",              CONSOLE_STAFF, console_api_task },
    { "GET",    "tasks/report",         CONSOLE_STAFF, console_api_tasks_report },   //  after tasks/*: the last match wins
    { "POST",   "tasks/*/done",         CONSOLE_STAFF, console_api_task_done },
};

//  Does the request's path match pattern ("groups/*/profile")?
static bool s_match (console_req_t *r, const char *pattern)
{
    char buf [64];
    qy_strlcpy (buf, pattern, sizeof (buf));
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r (buf, "/", &save); t; t = strtok_r (NULL, "/", &save), n++)
        if (n >= r->nseg || (strcmp (t, "*") && strcmp (t, r->seg [n])))
            return false;
    return n == r->nseg;
}

static bool s_mutation (const char *method)
{
    return strcmp (method, "GET") && strcmp (method, "HEAD");
}

//  Parse the body of a mutation: JSON, UTF-8, at most body_max bytes.
static bool s_parse_body (console_req_t *r)
{
    if (r->too_large) {
        console_error (r, 413, "request body over %ld bytes", r->cfg->body_max);
        return false;
    }
    if (!r->body.len)
        return true;
    json_error_t e;
    r->json = json_loadb (r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
    if (!r->json) {
        console_error (r, 400, "malformed JSON at line %d column %d: %s", e.line, e.column, e.text);
        return false;
    }
    if (!json_is_object (r->json)) {
        console_error (r, 400, "the body must be a JSON object");
        return false;
    }
    return true;
}

//  Every query-string value must be UTF-8 (PostgreSQL refuses anything else).
static enum MHD_Result s_check_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    bool *ok = cls;
    if (!qy_utf8_valid (key) || (value && !qy_utf8_valid (value)))
        *ok = false;
    return MHD_YES;
}

static void s_api_route (console_req_t *r)
{
    const console_route_t *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < QY_ARRAY_LEN (s_routes); i++)
        if (s_match (r, s_routes [i].pattern)) {
            path_known = true;
            if (strcmp (s_routes [i].method, r->method) == 0)
                route = &s_routes [i];
        }
    if (!route) {
        console_error (r, path_known ? 405 : 404, path_known ? "method not allowed" : "no such endpoint");
        return;
    }
    if (!console_auth_lookup (r)) {
        //  The pages ask first whether they hold a session: not an error.
        if (route->fn == console_auth_me) {
            console_reply (r, 200, "{\"authenticated\":false}");
            return;
        }
        console_error (r, 401, "log in first (POST /api/v1/session) or send an API token");
        return;
    }
    //  A cookie rides along with any request a browser makes: a mutation
    //  must also prove it comes from the console's own pages.
    if (s_mutation (r->method) && !r->who.via_token) {
        const char *t = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!t || strlen (t) != strlen (r->who.csrf) || sodium_memcmp (t, r->who.csrf, strlen (t))) {
            console_error (r, 403, "missing or wrong X-CSRF-Token");
            return;
        }
    }
    if (!console_allow (r, route->roles) || !console_auth_scope (r))
        return;
    route->fn (r);
}

//  Split /api/v1/a/b/c into segments; false if too many.
static bool s_split (console_req_t *r, const char *rest)
{
    r->path = qy_strdup (rest);
    char *save = NULL;
    for (char *t = strtok_r (r->path, "/", &save); t; t = strtok_r (NULL, "/", &save)) {
        if (r->nseg == (int) QY_ARRAY_LEN (r->seg))
            return false;
        r->seg [r->nseg++] = t;
    }
    return true;
}

//  A login carries no CSRF token (there is no session yet): it is taken
//  only as application/json, which a page of another site cannot send
//  without asking first (CORS preflight), so no such page can log a
//  visitor into an account of its own choosing. A text/plain form whose
//  body happens to be JSON is refused.
static void s_login (console_req_t *r)
{
    const char *type = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Content-Type");
    size_t n = strlen ("application/json");
    if (!type || strncasecmp (type, "application/json", n) != 0 || (type [n] && type [n] != ';' && type [n] != ' ')) {
        console_error (r, 415, "send the login as application/json");
        return;
    }
    console_auth_login (r);
}

static void s_api (console_req_t *r)
{
    bool utf8 = qy_utf8_valid (r->url);
    MHD_get_connection_values (r->conn, MHD_GET_ARGUMENT_KIND, s_check_arg, &utf8);
    if (!utf8) {
        console_error (r, 400, "the URL or a query parameter is not valid UTF-8");
        return;
    }
    if (!s_split (r, r->url + strlen ("/api/v1"))) {
        console_error (r, 404, "no such endpoint");
        return;
    }
    if (s_mutation (r->method) && !s_parse_body (r))
        return;
    r->pg = console_db_take (r->db, &r->slot);
    if (!r->pg) {
        console_error (r, 503, "database unavailable");
        return;
    }
    if (r->nseg == 1 && strcmp (r->seg [0], "session") == 0 && strcmp (r->method, "POST") == 0)
        s_login (r);
    else
        s_api_route (r);
    //  Whatever the handler did is one transaction: committed when it
    //  answered below 400, rolled back otherwise.
    if (PQtransactionStatus (r->pg) != PQTRANS_IDLE)
        PQclear (PQexec (r->pg, r->failed || r->status >= 400 ? "ROLLBACK" : "COMMIT"));
    console_db_give (r->db, r->slot);
    r->pg = NULL;
}

//  ------------------------------------------------------------ static files

static bool s_file (console_req_t *r, const char *dir, const char *rel)
{
    char path [1024];
    qy_snprintf (path, sizeof (path), "%s%s", dir, rel);
    FILE *f = fopen (path, "rb");
    if (!f)
        return false;
    qy_buf_reset (&r->out);
    bool ok = qy_buf_read_stream (&r->out, f);
    fclose (f);
    if (!ok)
        return false;
    r->status = 200;
    r->type = console_content_type (rel);
    return true;
}

static void s_static (console_req_t *r)
{
    const char *u = r->url;
    bool ok = false;
    if (strcmp (r->method, "GET") && strcmp (r->method, "HEAD"))
        console_error (r, 405, "method not allowed");
    else
    if (strcmp (u, "/") == 0 || (strncmp (u, "/tasks/", 7) == 0 && u [7] && strspn (u + 7, "0123456789") == strlen (u + 7)))
        //  The task loop's notices link to /tasks/<id> (docs/tasks.md): the
        //  pages open that task.
        ok = s_file (r, r->cfg->static_dir, "/index.html");
    else
    if (console_static_path_ok (u) && strncmp (u, "/static/", 8) == 0)
        ok = s_file (r, r->cfg->static_dir, u + 7);
    else
    if (console_static_path_ok (u) && strncmp (u, "/vendor/chart.js/", 17) == 0)
        ok = s_file (r, r->cfg->chartjs, u + 16);
    if (!ok && !r->status)
        console_error (r, 404, "not found");
}

static void s_dispatch (console_req_t *r)
{
    if (strcmp (r->url, "/health") == 0) {
        bool up = console_db_up (r->db);
        qy_buf_puts (&r->out, up ? "{\"status\":\"ok\"}\n" : "{\"status\":\"unhealthy\",\"postgres\":\"down\"}\n");
        r->status = up ? 200 : 503;
        r->type = "application/json";
    }
    else
    if (strcmp (r->url, "/metrics") == 0) {
        qy_metrics_render (&r->out);
        r->status = 200;
        r->type = "text/plain; version=0.0.4";
    }
    else
    if (strcmp (r->url, "/api/v1") == 0 || strncmp (r->url, "/api/v1/", 8) == 0)
        s_api (r);
    else
        s_static (r);
}

//  ------------------------------------------------------------ libmicrohttpd

static void s_headers (struct MHD_Response *resp, console_req_t *r)
{
    MHD_add_response_header (resp, "Content-Type", r->type ? r->type : "application/json");
    MHD_add_response_header (resp, "Content-Security-Policy",
                             "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                             "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (resp, "X-Frame-Options", "DENY");
    MHD_add_response_header (resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header (resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (strncmp (r->url, "/api/", 5) == 0)
        MHD_add_response_header (resp, "Cache-Control", "no-store");
    if (r->cfg->secure_cookie)
        MHD_add_response_header (resp, "Strict-Transport-Security", "max-age=31536000");
    if (r->cookie)
        MHD_add_response_header (resp, "Set-Cookie", r->cookie);
    if (r->disposition)
        MHD_add_response_header (resp, "Content-Disposition", r->disposition);
}

static void s_client_addr (console_req_t *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    qy_strlcpy (r->addr, "unknown", sizeof (r->addr));
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, r->addr, sizeof (r->addr));
    else
    if (sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, r->addr, sizeof (r->addr));
    //  Behind the reverse proxy every request comes from it: the client is
    //  the last address it appended to X-Forwarded-For.
    const char *xff = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (*r->cfg->proxy && strcmp (r->addr, r->cfg->proxy) == 0 && xff) {
        const char *last = strrchr (xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        if (*last && strlen (last) < sizeof (r->addr) && strspn (last, "0123456789abcdefABCDEF.:") == strlen (last))
            qy_strlcpy (r->addr, last, sizeof (r->addr));
    }
}

static enum MHD_Result s_handle (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void) version;
    console_req_t *r = *con_cls;
    if (!r) {
        r = qy_calloc (1, sizeof (*r));
        const console_req_t *proto = cls;
        r->cfg = proto->cfg;
        r->db = proto->db;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->slot = -1;
        qy_buf_init (&r->body);
        qy_buf_init (&r->out);
        s_client_addr (r);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        //  Past the limit the rest is read and dropped, then answered 413.
        if (r->body.len + *upload_size > (size_t) r->cfg->body_max)
            r->too_large = true;
        else
            qy_buf_append (&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    int64_t t0 = qy_mono_us ();
    s_dispatch (r);
    if (!r->status)
        console_error (r, 500, "no reply");
    struct MHD_Response *resp = MHD_create_response_from_buffer (r->out.len, r->out.data, MHD_RESPMEM_MUST_COPY);
    s_headers (resp, r);
    enum MHD_Result rc = MHD_queue_response (conn, r->status, resp);
    MHD_destroy_response (resp);
    qy_metric_add (m_requests [r->status / 100 <= 5 ? r->status / 100 : 0], 1);
    qy_metric_observe (m_latency, qy_mono_us () - t0);
    if (r->status >= 400 && r->status < 500)
        qy_log_limited (QY_LOG_INFO, "request refused method=%s path=%s status=%u addr=%s user=%s", method, url, r->status,
                        r->addr, r->authed ? r->who.login : "-");
    return rc;
}

static void s_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void) cls; (void) conn; (void) code;
    console_req_t *r = *con_cls;
    if (!r)
        return;
    if (r->pg)
        console_db_give (r->db, r->slot);
    qy_buf_free (&r->body);
    qy_buf_free (&r->out);
    json_decref (r->json);
    free (r->path);
    free (r->cookie);
    free (r->disposition);
    free (r);
    *con_cls = NULL;
}

static console_req_t s_proto;

struct MHD_Daemon *console_http_start (const console_config_t *cfg, console_db_t *db, int *port_out)
{
    static const char *classes [] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    for (size_t i = 0; i < QY_ARRAY_LEN (classes); i++) {
        char name [80];
        qy_snprintf (name, sizeof (name), "qy_console_requests_total{class=\"%s\"}", classes [i]);
        m_requests [i] = qy_counter (name, "requests answered, by status class");
    }
    m_latency = qy_histogram ("qy_console_request_seconds", "time to answer a request");
    s_proto.cfg = cfg;
    s_proto.db = db;
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof (sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) cfg->port);
    if (inet_pton (AF_INET, cfg->bind, &sa.sin_addr) != 1) {
        qy_log_error ("bad console.bind addr=%s", cfg->bind);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                                             (uint16_t) cfg->port, NULL, NULL, s_handle, &s_proto,
                                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned) cfg->threads,
                                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
                                             MHD_OPTION_CONNECTION_LIMIT, (unsigned) 512,
                                             MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
                                             MHD_OPTION_END);
    if (!d) {
        qy_log_error ("console listen failed addr=%s port=%ld", cfg->bind, cfg->port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (d, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = info ? info->port : (int) cfg->port;
    return d;
}
