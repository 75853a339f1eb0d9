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
#endif
