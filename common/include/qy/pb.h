//  Checks on decoded protobuf messages that protobuf-c leaves to us.
#ifndef QY_PB_H
#define QY_PB_H
#include <protobuf-c/protobuf-c.h>

//  The name of the first string field of msg (or of a message inside it)
//  that is not well-formed UTF-8, or NULL when every string is. protobuf-c
//  does not check this on unpack, and PostgreSQL rejects such text.
const char *qy_pb_bad_utf8 (const ProtobufCMessage *msg);
#endif
