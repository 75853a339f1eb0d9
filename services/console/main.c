//  qy-console: the operators' console. Serves the JSON API under /api/v1
//  and the pages under / on console.port, with every request in one
//  PostgreSQL transaction scoped to the user (row-level security, see
//  deploy/migrations/099_console_rls.sql). Sessions, API tokens and login
//  counters live in PostgreSQL, so replicas behind one address share them.
#include "console_int.h"
#include "qy/log.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct MHD_Daemon *console_http_start (const console_config_t *cfg, console_db_t *db, int *port_out);

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (console_config_t),
    { "console.bind",     QY_STR,  offsetof (console_config_t, bind),       "0.0.0.0", 0, 0, "address of the API and pages (TLS: a reverse proxy in front, docs/api.md)" },
    { "console.port",     QY_INT,  offsetof (console_config_t, port),       "8090", 0, 65535, "port of the API and pages (0 = any free)" },
    { "console.threads",  QY_INT,  offsetof (console_config_t, threads),    "4", 1, 256, "HTTP worker threads" },
    { "console.pool",     QY_INT,  offsetof (console_config_t, pool),       "8", 1, 256, "PostgreSQL connections (as qy_console)" },
    { "console.static_dir", QY_STR, offsetof (console_config_t, static_dir), "", 0, 0, "folder of the pages (HTML, CSS, ES modules); empty: the build's services/console/static (the image sets /usr/share/qunyun/console)" },
    { "console.chartjs",  QY_STR,  offsetof (console_config_t, chartjs),    "/usr/share/javascript/chart.js", 0, 0, "Chart.js folder (Debian libjs-chart.js), served at /vendor/chart.js/" },
    { "console.secure_cookie", QY_BOOL, offsetof (console_config_t, secure_cookie), "false", 0, 0, "mark the session cookie Secure and send HSTS (behind TLS)" },
    { "console.proxy",    QY_STR,  offsetof (console_config_t, proxy),      "", 0, 0, "address of the TLS reverse proxy in front: its X-Forwarded-For names the client (login limits per address)" },
    { "session.ttl_s",    QY_INT,  offsetof (console_config_t, session_ttl_s), "28800", 60, 2592000, "a session's life" },
    { "http.body_max",    QY_INT,  offsetof (console_config_t, body_max),   "65536", 1024, 16777216, "largest request body (413 above)" },
    { "login.threshold",  QY_INT,  offsetof (console_config_t, login_threshold), "5", 1, 1000, "failed logins of one login before it is locked" },
    { "login.address_threshold", QY_INT, offsetof (console_config_t, address_threshold), "20", 1, 100000, "failed logins from one address before it is locked" },
    { "login.lockout_s",  QY_INT,  offsetof (console_config_t, lockout_base_s), "30", 1, 86400, "first lockout; doubles with each further failure" },
    { "login.lockout_max_s", QY_INT, offsetof (console_config_t, lockout_cap_s), "900", 1, 604800, "longest lockout" },
    { "search.days",      QY_INT,  offsetof (console_config_t, search_days), "30", 1, 3650, "archive search's default time range" },
    { "overview.cache_s", QY_INT,  offsetof (console_config_t, overview_cache_s), "60", 0, 3600, "seconds a replica reuses an overview per scope and range (0: never; the roll-ups change on scoring's interval)" },
    { "replay.ingest",    QY_STR,  offsetof (console_config_t, replay_ingest), "tcp://ingest:5540", 0, 0, "ingest's door, where a replayed dead letter of ingest goes (as qyctl's --ingest)" },
    { "replay.moderation", QY_STR, offsetof (console_config_t, replay_moderation), "tcp://bus:5550", 0, 0, "the moderation hop's front, where a replayed dead letter of moderation goes" },
    { "replay.scoring",   QY_STR,  offsetof (console_config_t, replay_scoring), "tcp://bus:5552", 0, 0, "the scoring hop's front, where a replayed dead letter of scoring goes" },
    { "replay.campaign",  QY_STR,  offsetof (console_config_t, replay_campaign), "tcp://bus:5554", 0, 0, "the campaign hop's front, where a replayed dead letter of campaign goes" },
    { "replay.timeout_ms", QY_INT, offsetof (console_config_t, replay_timeout_ms), "5000", 100, 60000, "how long a replay's send, or ingest's answer, may take" },
    { "export.max",       QY_INT,  offsetof (console_config_t, export_max), "50000", 1, 1000000, "most rows in a CSV export" },
};

//  The console must be bound by the policies: refuse a role that bypasses
//  them (superuser, BYPASSRLS, or the owner of the tables).
static bool s_role_ok (const char *dsn)
{
    PGconn *c = PQconnectdb (dsn);
    bool ok = false;
    if (PQstatus (c) != CONNECTION_OK)
        qy_log_warn ("postgres not reachable at start error=%s", PQerrorMessage (c));
    else {
        PGresult *res = PQexec (c, "SELECT current_user, rolsuper OR rolbypassrls OR pg_has_role (current_user, "
                                "(SELECT relowner FROM pg_class WHERE oid = 'groups'::regclass), 'USAGE') "
                                "FROM pg_roles WHERE rolname = current_user");
        ok = PQresultStatus (res) == PGRES_TUPLES_OK && PQntuples (res) == 1 && PQgetvalue (res, 0, 1) [0] == 'f';
        if (!ok)
            qy_log_error ("the console must connect as qy_console, not as a role that bypasses row-level security "
                          "user=%s", PQresultStatus (res) == PGRES_TUPLES_OK && PQntuples (res) ? PQgetvalue (res, 0, 0) : "?");
        PQclear (res);
        PQfinish (c);
        return ok;
    }
    PQfinish (c);
    return true;            //  unreachable now: checked again by nobody, but the pool retries
}

int main (int argc, char **argv)
{
    console_config_t cfg = { 0 };
    qy_service_start ("console", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    int rc = 2;
    console_db_t *db = NULL;
    struct MHD_Daemon *d = NULL;
    int port = 0;
    if (!*cfg.static_dir) {
        free (cfg.static_dir);
        cfg.static_dir = qy_strdup (QY_CONSOLE_STATIC_DIR);
    }
    if (sodium_init () < 0)
        qy_log_error ("libsodium failed to initialise");
    else
    if (s_role_ok (cfg.common.pg_dsn)) {
        qy_service_needs (QY_DEP_PG);
        db = console_db_new (cfg.common.pg_dsn, (int) cfg.pool);
        d = console_http_start (&cfg, db, &port);
    }
    if (d) {
        qy_log_info ("console listening port=%d static=%s", port, cfg.static_dir);
        qy_service_ready ();
        while (qy_service_running ()) {
            qy_service_heartbeat ();
            qy_service_set_dep (QY_DEP_PG, console_db_up (db));
            qy_sleep_ms (500);
        }
        //  Stop taking connections, let the requests in hand finish.
        MHD_quiesce_daemon (d);
        MHD_stop_daemon (d);
        qy_log_info ("requests drained, stopping");
        rc = 0;
    }
    console_db_destroy (&db);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return rc;
}
