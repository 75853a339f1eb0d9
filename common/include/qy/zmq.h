//  ZeroMQ and protobuf glue. Every inter-service message is one frame
//  holding one packed protobuf message.
#ifndef QY_ZMQ_H
#define QY_ZMQ_H
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

//  Create a socket with send and receive high-water marks of hwm and
//  linger of linger_ms (so a shutdown can flush but never hangs). Aborts
//  if the socket cannot be created (only on a broken context).
void *qy_zmq_socket (void *ctx, int type, int hwm, int linger_ms);
//  Bind or connect each endpoint of a comma-separated list ("tcp://a:1,tcp://b:1").
//  Returns 0 or -1 with errno set; logs what failed.
int qy_zmq_bind (void *sock, const char *endpoints);
int qy_zmq_connect (void *sock, const char *endpoints);
//  Pack msg and send it as one frame. flags as zmq_send (ZMQ_DONTWAIT,
//  ZMQ_SNDMORE). Returns 0, or -1 with errno (EAGAIN when full).
int qy_zmq_send_pb (void *sock, const ProtobufCMessage *msg, int flags);
//  The endpoint a socket actually bound (for tcp://*:0 style binds).
//  Writes into buf; returns buf.
char *qy_zmq_last_endpoint (void *sock, char *buf, size_t len);
//  Wait on a DEALER for ingest's Ack of the batch batch_id (NULL: the
//  first that comes), skipping late answers to earlier batches. NULL when
//  none came within timeout_ms or it did not decode. Caller frees it with
//  qy__ack__free_unpacked.
struct Qy__Ack;
struct Qy__Ack *qy_zmq_ack_wait (void *dealer, const char *batch_id, int timeout_ms);
//  The pause (ms) before sending again a batch ingest answered busy (not
//  ok, retry_after_ms set: the bus away or moderation behind, nothing
//  stored), or -1 when it is not to be sent again: taken, refused for good
//  (no retry_after), or the pause and QY_ACK_ANSWER_MS for the answer
//  would not end before until_us (a last try with no time to hear its
//  answer would report "no answer" for a batch ingest may have taken). Pure.
#define QY_ACK_ANSWER_MS 1000
int qy_ack_retry_ms (const struct Qy__Ack *ack, int64_t now_us, int64_t until_us);
#endif
