//  Member-list snapshots against memberships. WeCom's callbacks can come
//  late, out of order or never, so a gateway may also send the whole
//  member list of a group (groupchat/get); what differs from what we know
//  becomes the join and leave events that were missed. The events go
//  through the normal batch writer, so memberships, the archive and every
//  later stage see them like any other member event.
//
//  Exactly once comes from the message ids: a join is named by the group,
//  the member and the join time the snapshot shows; a leave by the group,
//  the member and the join (stint) it ends. Sending the same snapshot again
//  finds nothing to do; were the same snapshot in one batch twice, the
//  writer drops the second copy as a duplicate id.
#include "ingest_reconcile.h"
#include "ingest_wecom.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static const ingest_known_t *s_find (const ingest_known_t *known, size_t n, const char *userid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (known [i].userid, userid) == 0)
            return &known [i];
    return NULL;
}

static bool s_in_snapshot (const ingest_snapshot_t *snap, const char *userid)
{
    for (size_t i = 0; i < snap->n_members; i++)
        if (strcmp (snap->members [i].userid, userid) == 0)
            return true;
    return false;
}

static bool s_is_staff (const ingest_snapshot_t *snap, const char *userid)
{
    for (size_t i = 0; userid && i < snap->n_members; i++)
        if (strcmp (snap->members [i].userid, userid) == 0)
            return snap->members [i].type == 1;
    return false;
}

size_t ingest_reconcile (ingest_req_t *req, size_t item, const ingest_snapshot_t *snap,
                         const ingest_known_t *known, size_t n_known, Qy__LeaveReason reason)
{
    size_t added = 0;
    for (size_t i = 0; i < snap->n_members; i++) {
        const ingest_snap_member_t *m = &snap->members [i];
        const ingest_known_t *k = s_find (known, n_known, m->userid);
        //  No join time: the snapshot's own time is the latest it can be.
        int64_t at = m->join_time_us ? m->join_time_us : snap->fetched_us;
        if (k && k->left_us == 0)
            continue;                    //  known to be in the group
        if (k && at <= k->left_us)
            continue;                    //  the snapshot predates the leave we know of
        Qy__Event *ev = ingest_event_new (req->brand);
        ev->msg_id = ingest_derived_id ("snap:join:%s:%s:%lld", snap->group, m->userid, (long long) (at / 1000000));
        ev->group = qy_strdup (snap->group);
        ev->member = qy_strdup (m->userid);
        ev->kind = QY__KIND__JOIN;
        ev->event_time_us = at;
        ev->role = m->role;
        ev->join_scene = ingest_wecom_snapshot_scene (m->join_scene, s_is_staff (snap, m->invitor));
        if (m->nickname)
            ev->nickname = qy_strdup (m->nickname);
        if (m->state)
            ev->channel = qy_strdup (m->state);
        if (m->invitor)
            ev->inviter = qy_strdup (m->invitor);
        ingest_req_add_event (req, item, ev);
        added++;
    }
    for (size_t i = 0; i < n_known; i++) {
        const ingest_known_t *k = &known [i];
        if (k->left_us || s_in_snapshot (snap, k->userid))
            continue;
        if (k->joined_us && k->joined_us >= snap->fetched_us)
            continue;                    //  joined after the snapshot was taken
        Qy__Event *ev = ingest_event_new (req->brand);
        ev->msg_id = ingest_derived_id ("snap:leave:%s:%s:%lld", snap->group, k->userid, (long long) k->joined_us);
        ev->group = qy_strdup (snap->group);
        ev->member = qy_strdup (k->userid);
        ev->kind = QY__KIND__LEAVE;
        ev->event_time_us = snap->fetched_us > k->joined_us ? snap->fetched_us : k->joined_us + 1;
        ev->leave_reason = reason;
        ingest_req_add_event (req, item, ev);
        added++;
    }
    return added;
}
