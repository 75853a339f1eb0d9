//  One libmicrohttpd start-up for the simulators (qy/sim.h). Tests read
//  the port from stdout or --port-file, so both simulators announce it
//  the same way.
#include "qy/sim.h"
#include "qy/util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_STOP_POLL_US 100000     //  how often the main thread looks for a signal

static volatile sig_atomic_t s_stop;
static void s_on_signal (int sig) { (void) sig; s_stop = 1; }

typedef struct { qy_buf_t body; } s_req_t;

//  libmicrohttpd calls this first with no request, then once per piece of
//  body, then once more with none left: only that last call reaches fn.
static enum MHD_Result s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    (void) version;
    s_req_t *req = *ctx;
    if (!req) {
        req = qy_calloc (1, sizeof (*req));
        qy_buf_init (&req->body);
        *ctx = req;
        return MHD_YES;
    }
    if (*upload_size) {
        qy_buf_append (&req->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    qy_sim_fn *fn = (qy_sim_fn *) cls;
    return fn (c, url, method, req->body.data ? req->body.data : "", req->body.len);
}

static void s_done (void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
    (void) cls; (void) c; (void) toe;
    s_req_t *req = *ctx;
    if (req) {
        qy_buf_free (&req->body);
        free (req);
        *ctx = NULL;
    }
}

enum MHD_Result qy_sim_send (struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header (r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return rc;
}

int qy_sim_serve (const char *name, int port, const char *port_file, qy_sim_fn *fn)
{
    struct MHD_Daemon *d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                             (uint16_t) port, NULL, NULL, s_handle, (void *) fn,
                                             MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf (stderr, "%s: cannot listen on port %d\n", name, port);
        return 1;
    }
    port = MHD_get_daemon_info (d, MHD_DAEMON_INFO_BIND_PORT)->port;
    printf ("listening port=%d\n", port);
    fflush (stdout);
    if (port_file) {
        FILE *f = fopen (port_file, "w");
        if (f) {
            fprintf (f, "%d\n", port);
            fclose (f);
        }
    }
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    while (!s_stop)
        usleep (S_STOP_POLL_US);
    MHD_stop_daemon (d);
    return 0;
}
