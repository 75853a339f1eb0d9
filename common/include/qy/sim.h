//  The HTTP side shared by the simulators (qy-gatewaysim, qy-wecomsim):
//  start libmicrohttpd, say which port it took, serve until SIGTERM or
//  SIGINT, stop. Each request reaches the handler once, its body read
//  whole, so a simulator writes only what it answers.
#ifndef QY_SIM_H
#define QY_SIM_H
#include <microhttpd.h>
#include <stddef.h>

//  One request: body is NUL-terminated (len bytes, "" when none).
//  Answers through c (qy_sim_send or MHD_queue_response).
typedef enum MHD_Result (qy_sim_fn) (struct MHD_Connection *c, const char *url, const char *method,
                                      const char *body, size_t len);

//  Serve fn on port (0: a free one), a thread per connection. Prints
//  "listening port=N" on stdout and writes N to port_file (when given),
//  then blocks until SIGTERM or SIGINT. Returns 0, or 1 when it could not
//  listen (said on stderr, naming name).
int qy_sim_serve (const char *name, int port, const char *port_file, qy_sim_fn *fn);

//  Answer status with body (copied) as application/json.
enum MHD_Result qy_sim_send (struct MHD_Connection *c, unsigned status, const char *body);
#endif
