//  Archived events read back as events: the one reading of the message
//  archive that qyctl replay and ingest's re-send of what it did not hand
//  on share. Select QY_ARCHIVE_COLUMNS QY_ARCHIVE_FROM "WHERE …" (m is
//  messages, b brands, i message_ids).
#ifndef QY_ARCHIVE_H
#define QY_ARCHIVE_H
#include "qunyun.pb-c.h"
#include <libpq-fe.h>

#define QY_ARCHIVE_COLUMNS \
    "SELECT m.msg_id, (extract (epoch FROM m.event_time) * 1000000)::bigint, " \
    "       (extract (epoch FROM m.ingest_time) * 1000000)::bigint, g.code, coalesce (s.code, ''), " \
    "       coalesce (mb.user_id, ''), coalesce (nullif (m.extra->>'nickname', ''), mb.nickname, ''), m.kind, " \
    "       coalesce (m.role, 'member'), coalesce (m.text, ''), m.group_id, coalesce (m.store_id, 0), " \
    "       coalesce (m.member_id, 0), coalesce (c.id, 0), b.code, m.brand_id, coalesce (m.extra->>'url', ''), " \
    "       coalesce (m.extra->>'ref_msg_id', ''), coalesce (m.extra->>'channel', ''), " \
    "       coalesce (m.extra->>'inviter', ''), coalesce (m.extra->>'product', ''), " \
    "       coalesce (m.extra->>'join_scene', ''), coalesce (m.extra->>'leave_reason', ''), " \
    "       coalesce (m.extra->'at_all' = 'true'::jsonb, false), " \
    "       CASE WHEN jsonb_typeof (m.extra->'amount_cents') = 'number' THEN (m.extra->>'amount_cents')::bigint ELSE 0 END, " \
    "       CASE WHEN jsonb_typeof (m.extra->'mentions') = 'array' THEN array_to_string (ARRAY (" \
    "            SELECT jsonb_array_elements_text (m.extra->'mentions')), E'\\x1f') ELSE '' END "
#define QY_ARCHIVE_FROM \
    "FROM messages m JOIN brands b ON b.id = m.brand_id JOIN groups g ON g.id = m.group_id " \
    "LEFT JOIN stores s ON s.id = m.store_id LEFT JOIN members mb ON mb.id = m.member_id " \
    "LEFT JOIN channels c ON c.brand_id = m.brand_id AND c.code = m.extra->>'channel' "

//  The storage an event read from a row borrows beyond the result.
typedef struct {
    char  *mentions;
    char **list;
} qy_archive_hold_t;

//  Fill ev (initialised here) from row r of a QY_ARCHIVE_COLUMNS result.
//  ev borrows res and hold: keep both until ev is sent, then call
//  qy_archive_release (hold).
void qy_archive_event (PGresult *res, int r, Qy__Event *ev, qy_archive_hold_t *hold);
void qy_archive_release (qy_archive_hold_t *hold);
#endif
