//  The HTTP server of the front door (libmicrohttpd, one thread per
//  connection). A connection thread reads the body, authenticates and
//  parses it, then hands the request to the main loop through a bounded
//  queue and waits: the main loop commits it in the same transaction as
//  ZeroMQ batches (ingest_store_write) and only then is the answer sent.
//  A full queue is answered 429 with Retry-After at once, so memory stays
//  bounded however fast gateways post. Connections are bounded too (each
//  holds a thread): gateway.max_conns at once, gateway.max_conns_per_ip
//  from one address (more are closed as soon as accepted, so one slow or
//  hostile client cannot take every slot), and one idle for
//  gateway.conn_timeout_s is closed.
#include "ingest_http.h"
#include "ingest_gateway.h"
#include "ingest_wecom.h"
#include <pthread.h>
#include "qy/log.h"
#include "qy/metrics.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ingest_http_t {
    ingest_http_config_t cfg;
    ingest_creds_t     *creds;
    struct MHD_Daemon  *daemon;
    int                 port;
    int                 pipe [2];       //  wakes the main loop
    pthread_mutex_t     lock;
    pthread_cond_t      done_cv;
    ingest_job_t      **queue;          //  ring of cfg.queue
    size_t              head, count;
    bool                stopping;
};

//  One connection's request while it is read.
typedef struct {
    ingest_ep_t ep;
    qy_buf_t    body;
    bool        too_large;
    bool        answered;       //  a response was queued before the body was read
} s_conn_t;

static qy_metric_t *m_status [600];
static qy_metric_t *m_auth_fail, *m_auth_previous, *m_queue_full;

static void s_count (unsigned status)
{
    if (status < 600 && m_status [status])
        qy_metric_add (m_status [status], 1);
}

static enum MHD_Result s_send (struct MHD_Connection *c, unsigned status, const char *body, size_t len,
                               unsigned retry_after_s)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (len, (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header (r, "Content-Type", "application/json");
    if (retry_after_s) {
        char ra [16];
        qy_snprintf (ra, sizeof (ra), "%u", retry_after_s);
        MHD_add_response_header (r, "Retry-After", ra);
    }
    if (status == 405)
        MHD_add_response_header (r, "Allow", "POST");
    enum MHD_Result rc = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    s_count (status);
    return rc;
}

//  {"ok":false,"error":…,"field":…}
static enum MHD_Result s_error (struct MHD_Connection *c, unsigned status, const char *error, const char *field,
                                unsigned retry_after_s)
{
    ingest_job_t tmp;
    memset (&tmp, 0, sizeof (tmp));
    qy_buf_init (&tmp.answer);
    ingest_gateway_error (&tmp, status, error, field, retry_after_s);
    enum MHD_Result rc = s_send (c, status, tmp.answer.data, tmp.answer.len, retry_after_s);
    qy_buf_free (&tmp.answer);
    return rc;
}

static bool s_route (const char *url, ingest_ep_t *ep)
{
    if (strcmp (url, "/v1/messages") == 0)          *ep = INGEST_EP_MESSAGES;
    else if (strcmp (url, "/v1/events") == 0)       *ep = INGEST_EP_EVENTS;
    else if (strcmp (url, "/v1/groups/snapshot") == 0) *ep = INGEST_EP_SNAPSHOT;
    else return false;
    return true;
}

//  Queue the job for the main loop and wait for its answer. Returns false
//  (nothing queued) when the queue is full or the service is stopping.
static bool s_submit (ingest_http_t *self, ingest_job_t *job, unsigned *refusal)
{
    pthread_mutex_lock (&self->lock);
    if (self->stopping || self->count == (size_t) self->cfg.queue) {
        *refusal = self->stopping ? 503 : 429;
        pthread_mutex_unlock (&self->lock);
        return false;
    }
    self->queue [(self->head + self->count) % (size_t) self->cfg.queue] = job;
    self->count++;
    pthread_mutex_unlock (&self->lock);
    char one = 1;
    if (write (self->pipe [1], &one, 1) < 0 && errno != EAGAIN)
        qy_log_warn ("http wake pipe write failed errno=%d", errno);
    pthread_mutex_lock (&self->lock);
    //  The main loop always answers: a commit, a retry, or 503 when stopping.
    while (!job->done)
        pthread_cond_wait (&self->done_cv, &self->lock);
    pthread_mutex_unlock (&self->lock);
    return true;
}

static enum MHD_Result s_complete (ingest_http_t *self, struct MHD_Connection *c, s_conn_t *conn)
{
    ingest_auth_headers_t h = {
        MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization"),
        MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-Qy-Gateway"),
        MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-Qy-Timestamp"),
        MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-Qy-Signature"),
    };
    if (!ingest_creds_loaded (self->creds))
        return s_error (c, 503, "credentials not loaded yet (PostgreSQL unavailable): retry", "", 1);
    ingest_job_t *job = qy_calloc (1, sizeof (*job));
    qy_buf_init (&job->answer);
    int64_t now = qy_now_us ();
    ingest_auth_request_t areq = { &h, conn->body.data, conn->body.len, now, self->cfg.window_s };
    ingest_auth_result_t who;
    int auth = ingest_creds_check (self->creds, &areq, &who);
    const char *why = who.why;
    enum MHD_Result rc;
    if (auth != INGEST_AUTH_OK) {
        qy_metric_add (m_auth_fail, 1);
        qy_log_limited (QY_LOG_WARN, "http refused status=%d reason=%s gateway=%s", auth, why, h.gateway ? h.gateway : "-");
        rc = s_error (c, (unsigned) auth, why, auth == 401 ? "Authorization" : "", 0);
        qy_buf_free (&job->answer);
        free (job);
        return rc;
    }
    qy_strlcpy (job->brand, who.brand, sizeof (job->brand));
    job->brand_id = who.brand_id;
    qy_strlcpy (job->gateway, who.gateway, sizeof (job->gateway));
    if (who.previous)
        qy_metric_add (m_auth_previous, 1);
    job->req = ingest_wecom_parse (conn->ep, job->brand, conn->body.data, conn->body.len, now,
                                   job->envelope_error, sizeof (job->envelope_error),
                                   job->envelope_field, sizeof (job->envelope_field));
    if (!job->req && strcmp (job->envelope_field, "brand") == 0) {
        qy_log_limited (QY_LOG_WARN, "http refused status=403 gateway=%s brand=%s reason=%s", job->gateway, job->brand,
                        job->envelope_error);
        rc = s_error (c, 403, job->envelope_error, "brand", 0);
        qy_buf_free (&job->answer);
        free (job);
        return rc;
    }
    if (!job->req && strncmp (job->envelope_error, "too many events", 15) == 0) {
        //  Like a body too large: refused whole before it costs memory downstream.
        qy_log_limited (QY_LOG_WARN, "http refused status=413 gateway=%s brand=%s reason=%s", job->gateway, job->brand,
                        job->envelope_error);
        rc = s_error (c, 413, job->envelope_error, job->envelope_field, 0);
        qy_buf_free (&job->answer);
        free (job);
        return rc;
    }
    //  Lend the body: a bad envelope becomes a dead letter in the main loop.
    job->body = conn->body.data;
    job->len = conn->body.len;
    unsigned refusal = 0;
    if (!s_submit (self, job, &refusal)) {
        if (refusal == 429)
            qy_metric_add (m_queue_full, 1);
        rc = s_error (c, refusal, refusal == 429 ? "busy: too many requests waiting, retry later"
                                                 : "shutting down: retry", "", 1);
    }
    else
        rc = s_send (c, job->status, job->answer.data, job->answer.len, job->retry_after_s);
    ingest_req_destroy (&job->req);
    qy_buf_free (&job->answer);
    free (job);                    //  job->body is the connection's buffer: s_done frees it
    return rc;
}

static enum MHD_Result s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *data, size_t *size, void **ctx)
{
    (void) version;
    ingest_http_t *self = cls;
    s_conn_t *conn = *ctx;
    if (!conn) {
        conn = qy_calloc (1, sizeof (*conn));
        qy_buf_init (&conn->body);
        *ctx = conn;
        if (!s_route (url, &conn->ep)) {
            conn->answered = true;
            return s_error (c, 404, "not found: POST /v1/messages, /v1/events or /v1/groups/snapshot", "", 0);
        }
        if (strcmp (method, "POST") != 0) {
            conn->answered = true;
            return s_error (c, 405, "method not allowed: use POST", "", 0);
        }
        const char *cl = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoll (cl, NULL, 10) > self->cfg.max_body) {
            conn->answered = true;
            return s_error (c, 413, "body too large", "", 0);
        }
        return MHD_YES;
    }
    if (*size) {
        if (!conn->answered && !conn->too_large) {
            if (conn->body.len + *size > (size_t) self->cfg.max_body) {
                conn->too_large = true;
                qy_buf_free (&conn->body);
                qy_buf_init (&conn->body);
            }
            else
                qy_buf_append (&conn->body, data, *size);
        }
        *size = 0;
        return MHD_YES;
    }
    if (conn->answered)
        return MHD_YES;
    conn->answered = true;
    if (conn->too_large)
        return s_error (c, 413, "body too large", "", 0);
    if (!conn->body.data)
        qy_buf_puts (&conn->body, "");
    return s_complete (self, c, conn);
}

static void s_done (void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
    (void) cls; (void) c; (void) toe;
    s_conn_t *conn = *ctx;
    if (conn) {
        qy_buf_free (&conn->body);
        free (conn);
        *ctx = NULL;
    }
}

ingest_http_t *ingest_http_new (const ingest_http_config_t *cfg, ingest_creds_t *creds)
{
    static const unsigned codes [] = { 200, 400, 401, 403, 404, 405, 413, 429, 500, 503 };
    for (size_t i = 0; i < QY_ARRAY_LEN (codes); i++) {
        char name [80];
        qy_snprintf (name, sizeof (name), "qy_ingest_http_requests_total{code=\"%u\"}", codes [i]);
        m_status [codes [i]] = qy_counter (name, "HTTP front door requests by answer");
    }
    m_auth_fail = qy_counter ("qy_ingest_http_auth_failures_total", "requests refused 401 or 403");
    m_auth_previous = qy_counter ("qy_ingest_http_auth_previous_total", "requests taken on a rotated credential's "
                                  "previous token or secret, within its overlap (gateways yet to switch)");
    m_queue_full = qy_counter ("qy_ingest_http_queue_full_total", "requests refused 429 because the queue was full");

    ingest_http_t *self = qy_calloc (1, sizeof (*self));
    self->cfg = *cfg;
    self->creds = creds;
    self->queue = qy_calloc ((size_t) cfg->queue, sizeof (ingest_job_t *));
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->done_cv, NULL);
    if (pipe (self->pipe) != 0) {
        qy_log_error ("http cannot create wake pipe errno=%d", errno);
        abort ();
    }
    for (int i = 0; i < 2; i++)
        fcntl (self->pipe [i], F_SETFL, fcntl (self->pipe [i], F_GETFL) | O_NONBLOCK);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof (sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) cfg->port);
    if (inet_pton (AF_INET, cfg->bind && *cfg->bind ? cfg->bind : "0.0.0.0", &sa.sin_addr) != 1) {
        qy_log_error ("http front door bad bind address addr=%s", cfg->bind);
        ingest_http_destroy (&self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                                     (uint16_t) cfg->port, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) cfg->max_conns,
                                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) cfg->max_conns_per_ip,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) cfg->conn_timeout_s,
                                     MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL,
                                     MHD_OPTION_END);
    if (!self->daemon) {
        qy_log_error ("http front door cannot listen addr=%s port=%ld", cfg->bind, cfg->port);
        ingest_http_destroy (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : (int) cfg->port;
    return self;
}

int ingest_http_port (ingest_http_t *self)
{
    return self->port;
}

int ingest_http_fd (ingest_http_t *self)
{
    return self->pipe [0];
}

size_t ingest_http_take (ingest_http_t *self, ingest_job_t **jobs, size_t max, size_t max_events)
{
    char drain [256];
    while (read (self->pipe [0], drain, sizeof (drain)) > 0)
        ;
    pthread_mutex_lock (&self->lock);
    size_t n = 0, events = 0;
    while (n < max && self->count) {
        ingest_job_t *job = self->queue [self->head];
        size_t more = job->req ? job->req->n_events : 0;
        if (n && events + more > max_events) {
            //  Left for the next turn: wake it.
            char one = 1;
            if (write (self->pipe [1], &one, 1) < 0 && errno != EAGAIN)
                qy_log_warn ("http wake pipe write failed errno=%d", errno);
            break;
        }
        events += more;
        jobs [n++] = job;
        self->head = (self->head + 1) % (size_t) self->cfg.queue;
        self->count--;
    }
    pthread_mutex_unlock (&self->lock);
    return n;
}

void ingest_http_complete (ingest_http_t *self, ingest_job_t **jobs, size_t n)
{
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < n; i++)
        jobs [i]->done = true;
    pthread_cond_broadcast (&self->done_cv);
    pthread_mutex_unlock (&self->lock);
}

void ingest_http_destroy (ingest_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_http_t *self = *self_p;
    //  Whatever still waits is answered "retry": nothing of it was stored.
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    while (self->count) {
        ingest_job_t *job = self->queue [self->head];
        self->head = (self->head + 1) % (size_t) self->cfg.queue;
        self->count--;
        ingest_gateway_error (job, 503, "shutting down, nothing stored: retry", "", 1);
        job->done = true;
    }
    pthread_cond_broadcast (&self->done_cv);
    pthread_mutex_unlock (&self->lock);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    close (self->pipe [0]);
    close (self->pipe [1]);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->done_cv);
    free (self->queue);
    free (self);
    *self_p = NULL;
}
