//  Event helpers shared by the services (see qy/event.h).
#include "qy/event.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

bool qy_event_is_message (Qy__Kind kind)
{
    return kind >= QY__KIND__TEXT && kind <= QY__KIND__QRCODE;
}

bool qy_event_is_chat (Qy__Kind kind)
{
    return qy_event_is_message (kind) && kind != QY__KIND__REVOKE;
}

bool qy_role_is_member (Qy__Role role)
{
    return role == QY__ROLE__MEMBER || role == QY__ROLE__ROLE_UNSPECIFIED;
}

bool qy_role_is_staff (Qy__Role role)
{
    return role == QY__ROLE__STAFF || role == QY__ROLE__ADMIN || role == QY__ROLE__OWNER;
}

bool qy_role_is_brand (Qy__Role role)
{
    return qy_role_is_staff (role) || role == QY__ROLE__BOT;
}

const char *qy_role_name (Qy__Role role)
{
    switch (role) {
        case QY__ROLE__STAFF: return "staff";
        case QY__ROLE__ADMIN: return "admin";
        case QY__ROLE__OWNER: return "owner";
        case QY__ROLE__BOT:   return "bot";
        default:              return "member";
    }
}

void qy_event_stamp (Qy__Event *ev, qy_event_stamp_t *s, const char *stage, int64_t at_us)
{
    qy__stamp__init (&s->stamp);
    s->stamp.stage = (char *) stage;
    s->stamp.at_us = at_us;
    s->old = ev->trace;
    s->nold = ev->n_trace;
    s->trace = qy_calloc (s->nold + 1, sizeof (Qy__Stamp *));
    if (s->nold)
        memcpy (s->trace, s->old, s->nold * sizeof (Qy__Stamp *));
    s->trace [s->nold] = &s->stamp;
    ev->trace = s->trace;
    ev->n_trace = s->nold + 1;
}

void qy_event_unstamp (Qy__Event *ev, qy_event_stamp_t *s)
{
    ev->trace = s->old;
    ev->n_trace = s->nold;
    free (s->trace);
    s->trace = NULL;
}

void qy_event_delivery (Qy__Delivery *d, const Qy__Event *ev, const char *key, const char *kind,
                        Qy__Priority priority, const char *source)
{
    qy__delivery__init (d);
    d->key = (char *) key;
    d->brand = ev->brand;
    d->brand_id = ev->brand_id;
    d->group_id = ev->group_id;
    d->group = ev->group;
    d->priority = priority;
    d->kind = (char *) kind;
    d->source = (char *) source;
    d->event_id = ev->msg_id;
    d->created_us = qy_now_us ();
}
