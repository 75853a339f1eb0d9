//  qy-wecom: WeCom's callbacks in (HTTP threads: kept, then answered), the
//  main loop forwarding them to ingest and reading back mass-send
//  outcomes, and notifier's deliveries for official brands out.
#include "wecom.h"
#include "qy/http.h"
#include "qy/log.h"
#include "qy/service.h"
#include <curl/curl.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BODY (1u << 20)
#define S_HTTP_THREADS 4
#define S_HTTP_CONNS 256            //  so at most 256 MiB of bodies in hand
#define S_HTTP_CONNS_PER_IP 64      //  WeCom's callbacks come from many addresses

typedef struct {
    qy_common_config_t common;
    char *api_base, *master_key_file, *ingest_url;
    long  api_timeout_ms, api_pause_ms, window_s, deadletter_max;
    long  forward_batch, poll_ms, sends_every_s, sends_batch;
    char *sdk_path;
    long  archive_poll_ms, archive_limit, archive_batch, archive_timeout_s;
} wecom_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (wecom_config_t),
    { "wecom.api_base",   QY_STR, offsetof (wecom_config_t, api_base), "https://qyapi.weixin.qq.com", 0, 0, "WeCom's API base URL (the simulator's in tests)" },
    { "wecom.timeout_ms", QY_INT, offsetof (wecom_config_t, api_timeout_ms), "5000", 100, 60000, "timeout of one call to WeCom or ingest" },
    { "wecom.pause_ms",   QY_INT, offsetof (wecom_config_t, api_pause_ms), "60000", 100, 3600000, "pause of a corp's calls after a frequency errcode (45009, 45033, …)" },
    { "master_key_file",  QY_STR, offsetof (wecom_config_t, master_key_file), "", 0, 0, "file with the 64-hex-digit key the brands' WeCom secrets are sealed with (QY_WECOM_MASTER_KEY_FILE)" },
    { "ingest.url",       QY_STR, offsetof (wecom_config_t, ingest_url), "http://ingest:8080", 0, 0, "ingest's HTTP front door" },
    { "callback.window_s", QY_INT, offsetof (wecom_config_t, window_s), "300", 10, 86400, "a callback's timestamp this far from our clock is refused; replays within it are answered once" },
    { "callback.deadletter_max", QY_INT, offsetof (wecom_config_t, deadletter_max), "65536", 256, 16777216, "bytes of a malformed body kept in its dead letter" },
    { "forward.batch",    QY_INT, offsetof (wecom_config_t, forward_batch), "32", 1, 1000, "callbacks forwarded to ingest per turn" },
    { "forward.poll_ms",  QY_INT, offsetof (wecom_config_t, poll_ms), "100", 10, 60000, "how often kept callbacks are looked for" },
    { "sends.every_s",    QY_INT, offsetof (wecom_config_t, sends_every_s), "60", 1, 86400, "how often a pending mass send's outcome is read back" },
    { "sends.batch",      QY_INT, offsetof (wecom_config_t, sends_batch), "50", 1, 1000, "mass sends checked per turn" },
    { "archive.sdk_path", QY_STR, offsetof (wecom_config_t, sdk_path), "", 0, 0, "the Finance SDK (libWeWorkFinanceSdk_C.so), loaded with dlopen; empty: no chat archive" },
    { "archive.poll_ms",  QY_INT, offsetof (wecom_config_t, archive_poll_ms), "1000", 10, 3600000, "pause between archive pulls once caught up (the archive's delay is this plus WeCom's own)" },
    { "archive.limit",    QY_INT, offsetof (wecom_config_t, archive_limit), "1000", 1, 1000, "messages per GetChatData (WeCom: at most 1000)" },
    { "archive.batch",    QY_INT, offsetof (wecom_config_t, archive_batch), "5000", 1, 100000, "messages per hand-over to ingest: GetChatData calls under one cursor move" },
    { "archive.timeout_s", QY_INT, offsetof (wecom_config_t, archive_timeout_s), "10", 1, 600, "GetChatData's timeout" },
};

int main (int argc, char **argv)
{
    static wecom_config_t cfg;
    curl_global_init (CURL_GLOBAL_DEFAULT);
    xmlInitParser ();
    static wecom_env_t env;
    static wecom_router_t router;
    //  The router is set before the HTTP endpoint starts (with the config):
    //  hence fixed sizes. WeCom's callbacks are a few KB; four threads
    //  keep a slow WeCom call of one delivery from holding up callbacks.
    router.env = &env;
    qy_http_set_router (wecom_route, &router, S_MAX_BODY, S_HTTP_THREADS, S_HTTP_CONNS, S_HTTP_CONNS_PER_IP);
    qy_service_start ("wecom", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    char err [256];
    if (qy_master_key_load (cfg.master_key_file, env.master, err, sizeof (err))) {
        qy_log_error ("cannot load the master key error=%s", err);
        return 2;
    }
    env.api_base = cfg.api_base;
    env.ingest_url = cfg.ingest_url;
    env.api_timeout_ms = cfg.api_timeout_ms;
    env.api_pause_ms = cfg.api_pause_ms;
    env.window_s = cfg.window_s;
    env.deadletter_max = cfg.deadletter_max;
    router.pg_dsn = cfg.common.pg_dsn;
    router.redis_host = cfg.common.redis_host;
    router.redis_port = (int) cfg.common.redis_port;
    atomic_store (&router.ready, true);
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);
    wecom_ctx_t *ctx = wecom_ctx_new (&env, cfg.common.pg_dsn, cfg.common.redis_host, (int) cfg.common.redis_port);
    wecom_sdk_t *sdk = NULL;
    if (*cfg.sdk_path && !(sdk = wecom_sdk_open (cfg.sdk_path, err, sizeof (err)))) {
        qy_log_error ("cannot open the chat archive SDK error=%s", err);
        return 2;
    }
    wecom_archive_t *archive = sdk ? wecom_archive_new (sdk, cfg.archive_limit, cfg.archive_batch, cfg.archive_timeout_s) : NULL;
    int64_t next_sends = 0, next_archive = 0;
    qy_service_ready ();
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (ctx->pg, ctx->redis);
        int n = wecom_forward (ctx, (int) cfg.forward_batch);
        if (qy_mono_us () >= next_sends) {
            wecom_poll_sends (ctx, (int) cfg.sends_batch, cfg.sends_every_s);
            next_sends = qy_mono_us () + 1000000;
        }
        //  A full batch means more is waiting: pull again at once.
        if (archive && qy_mono_us () >= next_archive) {
            long got = wecom_archive_pull (archive, ctx);
            next_archive = got >= cfg.archive_batch ? 0 : qy_mono_us () + cfg.archive_poll_ms * 1000;
            if (got >= cfg.archive_batch)
                continue;
        }
        if (n < (int) cfg.forward_batch)
            qy_sleep_ms ((int) cfg.poll_ms);
    }
    qy_log_info ("stopping");
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    wecom_ctx_destroy (&ctx);
    wecom_archive_destroy (&archive);
    wecom_sdk_close (&sdk);
    xmlCleanupParser ();
    curl_global_cleanup ();
    return 0;
}
