//  Dead letters: input that could not be processed is set aside in
//  PostgreSQL (table dead_letters) with the reason and the raw bytes, so
//  nothing accepted is ever silently dropped and an operator can replay it.
#ifndef QY_DEADLETTER_H
#define QY_DEADLETTER_H
#include <stddef.h>
#include <stdint.h>
#include "qy/pg.h"

//  brand_id 0 = unknown (brand_code keeps what the sender said).
//  Returns 0, or -1 if PostgreSQL could not take it (logged).
int qy_deadletter (qy_pg_t *pg, int64_t brand_id, const char *brand_code, const char *service,
                   const char *msg_id, const char *reason, const void *payload, size_t len);
#endif
