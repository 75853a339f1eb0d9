//  Checks on decoded protobuf messages that protobuf-c leaves to us.
#ifndef QY_PB_H
#define QY_PB_H
#include "qy/util.h"
#include <protobuf-c/protobuf-c.h>

//  The name of the first string field of msg (or of a message inside it)
//  that is not well-formed UTF-8, or NULL when every string is. protobuf-c
//  does not check this on unpack, and PostgreSQL rejects such text.
const char *qy_pb_bad_utf8 (const ProtobufCMessage *msg);

//  msg as one JSON object appended to out, for people to read: fields
//  under their proto names, those at their default (empty, 0, false)
//  left out; enums by lower-case value name (as `qyctl send` reads them);
//  int64 as numbers; bytes as hex; a string that is not UTF-8 as hex under
//  "NAME_hex". Nested and repeated fields as objects and arrays.
void qy_pb_to_json (const ProtobufCMessage *msg, qy_buf_t *out);
#endif
