//  CURVE (libzmq with libsodium, RFC 26) for any socket: the gateway door
//  and, as an option, the hops between services. A key pair is its secret
//  key alone (Z85, 40 characters): the public key is derived from it.
#ifndef QY_ZMQ_CURVE_H
#define QY_ZMQ_CURVE_H
#include <stdbool.h>
#include <stddef.h>

#define QY_CURVE_KEY_LEN 40         //  Z85 text of a 32-byte key
//  The endpoint a ZAP handler binds, in the same context as the sockets it
//  authenticates (RFC 27).
#define QY_ZAP_ENDPOINT "inproc://zeromq.zap.01"

//  Is text a Z85 CURVE key (40 characters that decode)?
bool qy_zmq_curve_key_valid (const char *text);
//  The public key of secret key secret (both Z85); writes 41 bytes into
//  public. Returns 0, or -1 when secret is not a key.
int qy_zmq_curve_public (const char *secret, char public [QY_CURVE_KEY_LEN + 1]);
//  Make sock a CURVE server with secret key secret. domain (may be NULL)
//  is its ZAP domain: with a ZAP handler bound in the context, clients are
//  authenticated by it; without one, any client knowing the server's
//  public key connects. Call before bind. Returns 0, or -1 with a message
//  in err (never the key).
int qy_zmq_curve_server (void *sock, const char *secret, const char *domain, char *err, size_t errlen);
//  Make sock a CURVE client of the server with public key server_public,
//  with its own key pair (secret). Call before connect. Returns 0 or -1
//  with a message in err.
int qy_zmq_curve_client (void *sock, const char *server_public, const char *secret, char *err, size_t errlen);

//  One ZAP request (RFC 27) as libzmq sends it to the handler.
typedef struct {
    char   request_id [64];
    size_t request_id_len;
    char   domain [64];
    char   address [64];                 //  the peer's IP address
    bool   curve;                        //  mechanism CURVE with a 32-byte key
    char   public_key [QY_CURVE_KEY_LEN + 1];   //  the client's, Z85 (empty unless curve)
} qy_zap_request_t;
//  Read one request waiting on zap (a REP bound at QY_ZAP_ENDPOINT),
//  never blocking. Returns 0, or -1 when none was waiting.
int qy_zap_recv (void *zap, qy_zap_request_t *req);
//  Answer it: 200 with user_id, or 400.
void qy_zap_reply (void *zap, const qy_zap_request_t *req, bool ok, const char *user_id);

//  CURVE on the hops between services (optional: deployments across hosts).
//  The bus's hop sockets are servers with its secret key; every socket a
//  service connects to the bus is a client knowing the bus's public key,
//  with the service's own key pair. qy_service_start sets this from the
//  common options (zmq.curve_*); empty strings: plain hops.
void qy_zmq_curve_hops (const char *server_public, const char *secret, const char *clients);
//  Is CURVE on for the hops (a server key or a secret key is set)?
bool qy_zmq_curve_hops_on (void);
//  Apply the hops' CURVE to sock, a server (the bus's hop sockets) or a
//  client (a socket connecting to the bus). Before bind or connect. Does
//  nothing on plain hops. Returns 0, or -1 (logged: a key is missing or
//  malformed).
int qy_zmq_curve_hop (void *sock, bool server);
//  The bus with zmq.curve_clients: answer ZAP for ctx in a thread of its
//  own, admitting only those public keys (others are logged and counted in
//  qy_zmq_curve_refused_total). Before the server sockets bind. Returns 0,
//  or -1 (logged). Stop it before zmq_ctx_term.
int qy_zmq_curve_hop_zap_start (void *ctx);
void qy_zmq_curve_hop_zap_stop (void);
#endif
