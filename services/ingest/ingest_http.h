//  ingest's HTTP front door (docs/gateway.md): WeCom-shaped JSON in, the
//  same Event batches as the ZeroMQ path out. Its parts, one file and
//  header each:
//    ingest_req.h        the request model
//    ingest_wecom.c      JSON → events (pure: the fuzz target)
//    ingest_auth.c       bearer tokens and HMAC signatures, credential cache
//    ingest_reconcile.c  member-list snapshots → the joins and leaves missed
//    ingest_http.c       the libmicrohttpd server and the queue to the main loop
//                        (this header)
//    ingest_gateway.c    main-loop side: group changes, reconcile, answers
#ifndef INGEST_HTTP_H
#define INGEST_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ingest_auth.h"
#include "ingest_req.h"
#include "qy/util.h"

//  A request waiting for the main loop. The HTTP thread fills the input,
//  the main loop fills status and answer and sets done.
typedef struct {
    ingest_req_t *req;          //  NULL when the envelope was bad
    int64_t       brand_id;
    char          brand [64];
    char          gateway [64];
    char         *body;         //  the raw body (for dead letters)
    size_t        len;
    char          envelope_error [200];
    char          envelope_field [64];
    //  answer
    unsigned      status;
    unsigned      retry_after_s;
    qy_buf_t      answer;
    bool          done;
} ingest_job_t;

typedef struct ingest_http_t ingest_http_t;

typedef struct {
    const char *bind;
    long        port;
    long        max_body;        //  bytes; larger bodies get 413
    long        queue;           //  jobs waiting for the main loop; beyond: 429
    long        max_conns;       //  connections at once
    long        max_conns_per_ip;//  from one address (0: no limit); more are closed at once
    long        conn_timeout_s;  //  an idle connection is closed after this
    long        window_s;        //  HMAC replay window
} ingest_http_config_t;

//  Start the server. creds is borrowed (must outlive it). Returns NULL if
//  it cannot listen.
ingest_http_t *ingest_http_new (const ingest_http_config_t *cfg, ingest_creds_t *creds);
//  Answer whatever still waits with 503 and stop.
void ingest_http_destroy (ingest_http_t **self_p);
int ingest_http_port (ingest_http_t *self);
//  The fd that becomes readable when jobs wait (for zmq_poll).
int ingest_http_fd (ingest_http_t *self);
//  Take up to max waiting jobs holding up to max_events events between
//  them (always one, however many it holds). They stay owned by their HTTP
//  threads.
size_t ingest_http_take (ingest_http_t *self, ingest_job_t **jobs, size_t max, size_t max_events);
//  Hand answered jobs back (each has status and answer set): marks them
//  done and wakes their HTTP threads.
void ingest_http_complete (ingest_http_t *self, ingest_job_t **jobs, size_t n);
#endif
