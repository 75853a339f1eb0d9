//  Member-list snapshots → the joins and leaves missed (ingest_reconcile.c).
#ifndef INGEST_RECONCILE_H
#define INGEST_RECONCILE_H
#include <stddef.h>
#include <stdint.h>
#include "ingest_req.h"

//  A membership as the archive knows it.
typedef struct {
    const char *userid;
    int64_t     joined_us;      //  0: joined before anyone reported it
    int64_t     left_us;        //  0: still in the group
} ingest_known_t;

//  Compare a snapshot with the memberships of its group and append to req
//  the events that were missed: a join for each member present in the
//  snapshot but not in the group (or who left before the join the snapshot
//  shows), a leave for each member in the group who joined before the
//  snapshot was taken and is not in it. Message ids are derived from the
//  group, the member and the stint, so a repeated snapshot adds nothing
//  new. Returns the number of events appended.
size_t ingest_reconcile (ingest_req_t *req, size_t item, const ingest_snapshot_t *snap,
                         const ingest_known_t *known, size_t n_known, Qy__LeaveReason reason);
#endif
