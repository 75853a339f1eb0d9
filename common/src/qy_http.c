#include "qy/http.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

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

static enum MHD_Result s_handle (void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void) version; (void) upload; (void) upload_size; (void) con_cls;
    qy_http_t *self = cls;
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
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                     (uint16_t) port, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
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
