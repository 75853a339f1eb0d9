#include "qy/http.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

static qy_http_route_fn *s_router;
static void   *s_router_arg;
static size_t  s_router_max_body;
static unsigned s_router_threads;
static unsigned s_router_conns, s_router_conns_per_ip;

struct qy_http_req_t {
    struct MHD_Connection *conn;
    const char *method, *url;
    qy_buf_t    body;
    bool        too_large;
};

void qy_http_set_router (qy_http_route_fn *fn, void *arg, size_t max_body, unsigned threads, unsigned conns,
                         unsigned conns_per_ip)
{
    s_router = fn;
    s_router_arg = arg;
    s_router_max_body = max_body;
    s_router_threads = threads;
    s_router_conns = conns;
    s_router_conns_per_ip = conns_per_ip;
}

const char *qy_http_method (const qy_http_req_t *req) { return req->method; }
const char *qy_http_url (const qy_http_req_t *req)    { return req->url; }
const char *qy_http_body (const qy_http_req_t *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}
const char *qy_http_query (const qy_http_req_t *req, const char *key)
{
    return MHD_lookup_connection_value (req->conn, MHD_GET_ARGUMENT_KIND, key);
}
const char *qy_http_header (const qy_http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, name);
}

struct qy_http_t {
    struct MHD_Daemon *daemon;
    qy_health_fn      *health;
    void              *arg;
    int                port;
};

static enum MHD_Result s_reply (struct MHD_Connection *conn, unsigned status,
                                const char *type, qy_buf_t *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (body->len, body->data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header (r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return rc;
}

//  A routed request: read the body (bounded), then hand it to the router.
static enum MHD_Result s_route (struct MHD_Connection *conn, const char *url, const char *method,
                                const char *upload, size_t *upload_size, void **con_cls)
{
    qy_http_req_t *req = *con_cls;
    if (!req) {
        req = qy_calloc (1, sizeof (*req));
        req->conn = conn;
        req->method = method;
        req->url = url;
        qy_buf_init (&req->body);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->body.len + *upload_size > s_router_max_body)
            req->too_large = true;
        else
            qy_buf_append (&req->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    qy_buf_t out;
    qy_buf_init (&out);
    unsigned status;
    const char *type = "application/json";
    if (req->too_large) {
        qy_buf_puts (&out, "{\"error\":\"body too large\"}\n");
        status = MHD_HTTP_CONTENT_TOO_LARGE;
    }
    else
        status = s_router (s_router_arg, req, &out, &type);
    enum MHD_Result rc = s_reply (conn, status, type, &out);
    qy_buf_free (&out);
    return rc;
}

static void s_done (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void) cls; (void) conn; (void) toe;
    qy_http_req_t *req = *con_cls;
    if (req) {
        qy_buf_free (&req->body);
        free (req);
        *con_cls = NULL;
    }
}

static enum MHD_Result s_handle (void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void) version;
    qy_http_t *self = cls;
    //  The probes and metrics stay the service's own behind a router (qy-wecom's).
    bool own = strcmp (url, "/metrics") == 0 || strcmp (url, "/health") == 0 || strcmp (url, "/readyz") == 0
               || strcmp (url, "/livez") == 0;
    if (s_router && !own)
        return s_route (conn, url, method, upload, upload_size, con_cls);
    qy_buf_t body;
    qy_buf_init (&body);
    enum MHD_Result rc;
    if (strcmp (method, "GET") != 0) {
        qy_buf_puts (&body, "{\"error\":\"method not allowed\"}\n");
        rc = s_reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", &body);
    }
    else
    if (strcmp (url, "/metrics") == 0) {
        qy_metrics_render (&body);
        rc = s_reply (conn, MHD_HTTP_OK, "text/plain; version=0.0.4", &body);
    }
    else
    if (strcmp (url, "/health") == 0 || strcmp (url, "/readyz") == 0 || strcmp (url, "/livez") == 0) {
        qy_probe_t probe = strcmp (url, "/livez") == 0 ? QY_PROBE_LIVE : QY_PROBE_READY;
        bool ok = self->health ? self->health (self->arg, probe, &body) : true;
        if (!body.len)
            qy_buf_puts (&body, ok ? "{\"status\":\"ok\"}\n" : "{\"status\":\"unhealthy\"}\n");
        rc = s_reply (conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &body);
    }
    else {
        qy_buf_puts (&body, "{\"error\":\"not found\"}\n");
        rc = s_reply (conn, MHD_HTTP_NOT_FOUND, "application/json", &body);
    }
    qy_buf_free (&body);
    return rc;
}

qy_http_t *qy_http_new (const char *bind_addr, int port, qy_health_fn *health, void *arg)
{
    qy_http_t *self = qy_calloc (1, sizeof (*self));
    self->health = health;
    self->arg = arg;
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof (sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    if (inet_pton (AF_INET, bind_addr && *bind_addr ? bind_addr : "0.0.0.0", &sa.sin_addr) != 1) {
        qy_log_error ("http bad bind address addr=%s", bind_addr);
        free (self);
        return NULL;
    }
    //  A pool of threads only for a router (MHD warns about a pool of one).
    //  A router's bodies are held whole: its connections are bounded, in
    //  all and per address, so that strangers cannot hold more than
    //  conns × max_body (an address over its share is closed at once).
    struct MHD_OptionItem ops [4] = { { MHD_OPTION_END, 0, NULL } };
    int nops = 0;
    if (s_router && s_router_threads > 1)
        ops [nops++] = (struct MHD_OptionItem) { MHD_OPTION_THREAD_POOL_SIZE, s_router_threads, NULL };
    if (s_router && s_router_conns)
        ops [nops++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT, s_router_conns, NULL };
    if (s_router && s_router_conns_per_ip)
        ops [nops++] = (struct MHD_OptionItem) { MHD_OPTION_PER_IP_CONNECTION_LIMIT, s_router_conns_per_ip, NULL };
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                     (uint16_t) port, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
                                     MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL,
                                     MHD_OPTION_ARRAY, ops,
                                     MHD_OPTION_END);
    if (!self->daemon) {
        qy_log_error ("http listen failed addr=%s port=%d", bind_addr, port);
        free (self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

void qy_http_destroy (qy_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon ((*self_p)->daemon);
    free (*self_p);
    *self_p = NULL;
}

int qy_http_port (qy_http_t *self)
{
    return self->port;
}
