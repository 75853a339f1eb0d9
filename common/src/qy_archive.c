#include "qy/archive.h"
#include "qy/kind.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static Qy__Role s_role (const char *name)
{
    if (!strcmp (name, "staff")) return QY__ROLE__STAFF;
    if (!strcmp (name, "admin")) return QY__ROLE__ADMIN;
    if (!strcmp (name, "owner")) return QY__ROLE__OWNER;
    if (!strcmp (name, "bot"))   return QY__ROLE__BOT;
    return QY__ROLE__MEMBER;
}

static Qy__JoinScene s_scene (const char *name)
{
    if (!strcmp (name, "staff_invite"))  return QY__JOIN_SCENE__STAFF_INVITE;
    if (!strcmp (name, "qr_scan"))       return QY__JOIN_SCENE__QR_SCAN;
    if (!strcmp (name, "member_invite")) return QY__JOIN_SCENE__MEMBER_INVITE;
    if (!strcmp (name, "oa_menu"))       return QY__JOIN_SCENE__OA_MENU;
    return QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED;
}

//  The mentions, one string joined by 0x1f (no user id holds one).
static void s_mentions (const char *joined, Qy__Event *ev, qy_archive_hold_t *hold)
{
    if (!*joined)
        return;
    hold->mentions = qy_strdup (joined);
    size_t n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == 0x1f;
    hold->list = qy_calloc (n, sizeof (char *));
    char *save = NULL;
    for (char *t = strtok_r (hold->mentions, "\x1f", &save); t; t = strtok_r (NULL, "\x1f", &save))
        hold->list [ev->n_mentions++] = t;
    ev->mentions = hold->list;
}

void qy_archive_event (PGresult *res, int r, Qy__Event *ev, qy_archive_hold_t *hold)
{
    qy__event__init (ev);
    memset (hold, 0, sizeof (*hold));
    #define S_COL(c) PQgetvalue (res, r, c)
    ev->msg_id = S_COL (0);
    ev->event_time_us = strtoll (S_COL (1), NULL, 10);
    ev->ingest_time_us = strtoll (S_COL (2), NULL, 10);
    ev->group = S_COL (3);
    ev->store = S_COL (4);
    ev->member = S_COL (5);
    ev->nickname = S_COL (6);
    ev->kind = qy_kind_parse (S_COL (7));
    ev->role = s_role (S_COL (8));
    ev->text = S_COL (9);
    ev->group_id = strtoll (S_COL (10), NULL, 10);
    ev->store_id = strtoll (S_COL (11), NULL, 10);
    ev->member_id = strtoll (S_COL (12), NULL, 10);
    ev->channel_id = strtoll (S_COL (13), NULL, 10);
    ev->brand = S_COL (14);
    ev->brand_id = strtoll (S_COL (15), NULL, 10);
    ev->url = S_COL (16);
    ev->ref_msg_id = S_COL (17);
    ev->channel = S_COL (18);
    ev->inviter = S_COL (19);
    ev->product = S_COL (20);
    ev->join_scene = s_scene (S_COL (21));
    const char *reason = S_COL (22);
    ev->leave_reason = !strcmp (reason, "removed") ? QY__LEAVE_REASON__REMOVED
                     : !strcmp (reason, "left") ? QY__LEAVE_REASON__LEFT : 0;
    ev->at_all = S_COL (23) [0] == 't';
    ev->amount_cents = strtoll (S_COL (24), NULL, 10);
    s_mentions (S_COL (25), ev, hold);
    #undef S_COL
    ev->replay = true;
}

void qy_archive_release (qy_archive_hold_t *hold)
{
    free (hold->list);
    free (hold->mentions);
    memset (hold, 0, sizeof (*hold));
}
