//  Who a member claims to be: a nickname that claims a staff title or the
//  brand (impersonation, checked on join and on rename). The match is pure;
//  the names it is matched against come from PostgreSQL, and every name is
//  compared in the judge's strict normalization (full-width, traditional,
//  case, spaces and punctuation folded: "客 服", "官-方", "ＡＣＭＥ").
#include "moderation.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  Staff titles, and the pinyin a nickname spells them in to get past a
//  filter of characters.
static const char *const s_titles [] = { "店长", "客服", "官方", "管理员", "群主", "店员", "售后", "导购", "助理",
                                         "kefu", "dianzhang", "guanfang", "guanliyuan", "qunzhu" };

static bool s_contains (const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    for (size_t i = 0; nlen && i + nlen <= hlen; i++)
        if (memcmp (hay + i, needle, nlen) == 0)
            return true;
    return false;
}

static size_t s_chars (const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char) s [i] & 0xC0) != 0x80;
    return n;
}

const char *moderation_impersonation (const char *nick, size_t len, const moderation_name_t *names, size_t n)
{
    if (!nick || !len)
        return NULL;
    for (size_t i = 0; i < QY_ARRAY_LEN (s_titles); i++)
        if (s_contains (nick, len, s_titles [i], strlen (s_titles [i])))
            return s_titles [i];
    for (size_t i = 0; i < n; i++) {
        const moderation_name_t *m = &names [i];
        if (!m->norm || !m->len)
            continue;
        //  The brand and the store are claimed by containing them; a staff
        //  member's name by being it, or by containing it when it is long
        //  enough (three characters) not to be a common name such as 小王.
        bool staff = strcmp (m->kind, "staff") == 0;
        bool equal = m->len == len && memcmp (m->norm, nick, len) == 0;
        if (equal || ((!staff || s_chars (m->norm, m->len) >= 3) && s_contains (nick, len, m->norm, m->len)))
            return m->name;
    }
    return NULL;
}

//  The brand's name, the group's store's name and the names of the
//  brand's staff; first, whether the member is staff anywhere in the brand
//  (then they claim nothing).
#define S_NAMES \
    "SELECT 'self', '' WHERE EXISTS (SELECT 1 FROM memberships WHERE brand_id = $1 AND member_id = $3 " \
    "                                  AND role IN ('owner', 'admin', 'staff', 'bot')) " \
    "UNION ALL SELECT 'brand', name FROM brands WHERE id = $1 " \
    "UNION ALL SELECT 'store', s.name FROM groups g JOIN stores s ON s.id = g.store_id WHERE g.id = $2 AND g.brand_id = $1 " \
    "UNION ALL (SELECT DISTINCT 'staff', coalesce (nullif (ms.nickname, ''), m.nickname) " \
    "           FROM memberships ms JOIN members m ON m.id = ms.member_id " \
    "           WHERE ms.brand_id = $1 AND ms.role IN ('owner', 'admin', 'staff', 'bot') AND ms.member_id <> $3 " \
    "             AND coalesce (nullif (ms.nickname, ''), m.nickname) <> '' LIMIT 2000)"

//  The flag: a row for a person (kind flag, category impersonation), once
//  per join or rename event.
#define S_FLAG \
    "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, " \
    "                        excerpt, strike, kind, review_priority) " \
    "VALUES ($1, $2, $3, $4 || '#impersonation', 'epoch'::timestamptz + $5::bigint * interval '1 microsecond', " \
    "        'impersonation', 0, 'review', '{identity.impersonation}', " \
    "        jsonb_build_array (jsonb_build_object ('rule', 'identity.impersonation', 'claims', $6::text, " \
    "                                               'nickname', $7::text)), $7, 0, 'flag', 3.0) " \
    "ON CONFLICT (brand_id, msg_id) DO NOTHING RETURNING id"

int moderation_impersonation_flag (qy_pg_t *pg, judge_t *judge, const Qy__Event *ev, char *claim, size_t claimlen)
{
    char b [24], g [24], m [24], t [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) ev->brand_id);
    qy_snprintf (g, sizeof (g), "%lld", (long long) ev->group_id);
    qy_snprintf (m, sizeof (m), "%lld", (long long) ev->member_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) ev->event_time_us);
    const char *p [] = { b, g, m };
    PGresult *res;
    if (!qy_pg_run (pg, "impersonation names", S_NAMES, 3, p, &res))
        return -1;
    int rows = PQntuples (res);
    bool self_staff = rows > 0 && strcmp (PQgetvalue (res, 0, 0), "self") == 0;
    moderation_name_t *names = qy_calloc ((size_t) rows + 1, sizeof (moderation_name_t));
    size_t n = 0;
    for (int r = 0; r < rows && !self_staff; r++) {
        size_t len;
        const char *norm = judge_normalize (judge, PQgetvalue (res, r, 1), (size_t) -1, &len);
        names [n++] = (moderation_name_t) { PQgetvalue (res, r, 0), PQgetvalue (res, r, 1), qy_strndup (norm, len), len };
    }
    const char *found = NULL;
    if (!self_staff) {
        size_t len;
        char *nick = qy_strdup (judge_normalize (judge, ev->nickname ? ev->nickname : "", (size_t) -1, &len));
        found = moderation_impersonation (nick, len, names, n);
        free (nick);
    }
    if (found)
        qy_strlcpy (claim, found, claimlen);
    for (size_t i = 0; i < n; i++)
        free ((char *) names [i].norm);
    free (names);
    PQclear (res);
    if (!found)
        return 0;
    const char *fp [] = { b, g, m, ev->msg_id, t, claim, ev->nickname ? ev->nickname : "" };
    if (!qy_pg_run (pg, "impersonation flag", S_FLAG, 7, fp, &res))
        return -1;
    int fresh = PQntuples (res) > 0;
    PQclear (res);
    if (fresh)
        qy_log_info ("msg_id=%s brand=%s member=%s nickname=%s claims=%s impersonation flagged", ev->msg_id,
                     ev->brand, ev->member, ev->nickname ? ev->nickname : "", claim);
    return 1;       //  flagged now or by an earlier delivery: the alert's key makes it once

}
