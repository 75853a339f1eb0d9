//  The names of event kinds as the archive, the gateways' JSON and the
//  judge spell them ("text", "weapp", "join", …): one table for everyone.
#ifndef QY_KIND_H
#define QY_KIND_H
#include "qunyun.pb-c.h"

//  "unknown" for a value outside the table.
const char *qy_kind_name (Qy__Kind kind);
//  QY__KIND__KIND_UNSPECIFIED for a name outside the table.
Qy__Kind qy_kind_parse (const char *name);
#endif
