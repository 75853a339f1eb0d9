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

//  What a batch's nicknames are matched against, in one round trip (one
//  statement per join was most of a batch's time when members join in
//  numbers): per event (i, 1-based), whether the member is staff anywhere
//  in the brand (then they claim nothing) and the group's store's name;
//  per brand (i = 0), its name and its staff's names. A member's own name
//  is never among them: a member with a staff role is "self".
#define S_NAMES \
    "WITH e AS (SELECT * FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS e (b, g, m, i)), " \
    "     bs AS (SELECT DISTINCT b FROM e) " \
    "SELECT e.i, e.b, 'self', '' FROM e WHERE EXISTS (SELECT 1 FROM memberships WHERE brand_id = e.b AND member_id = e.m " \
    "                                                   AND role IN ('owner', 'admin', 'staff', 'bot')) " \
    "UNION ALL SELECT 0, b.id, 'brand', b.name FROM brands b JOIN bs ON bs.b = b.id " \
    "UNION ALL SELECT e.i, e.b, 'store', s.name FROM e JOIN groups g ON g.id = e.g AND g.brand_id = e.b " \
    "                                           JOIN stores s ON s.id = g.store_id " \
    "UNION ALL SELECT 0, bs.b, 'staff', st.name FROM bs CROSS JOIN LATERAL ( " \
    "    SELECT DISTINCT coalesce (nullif (ms.nickname, ''), m.nickname) AS name " \
    "    FROM memberships ms JOIN members m ON m.id = ms.member_id " \
    "    WHERE ms.brand_id = bs.b AND ms.role IN ('owner', 'admin', 'staff', 'bot') " \
    "      AND coalesce (nullif (ms.nickname, ''), m.nickname) <> '' LIMIT 2000) st"

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

//  One row of S_NAMES, its name normalized by its brand's judge.
typedef struct {
    size_t  i;          //  the event (1-based), 0 for the brand's rows
    int64_t brand;
    bool    self;
    moderation_name_t name;
} s_row_t;

//  The judge of the brand's first event: every event of a brand has the same.
static judge_t *s_judge (const moderation_claim_t *c, size_t n, int64_t brand)
{
    for (size_t k = 0; k < n; k++)
        if (c [k].ev->brand_id == brand)
            return c [k].judge;
    return NULL;
}

static s_row_t *s_rows (PGresult *res, const moderation_claim_t *c, size_t n)
{
    int rows = PQntuples (res);
    s_row_t *row = qy_calloc ((size_t) rows + 1, sizeof (s_row_t));
    for (int r = 0; r < rows; r++) {
        s_row_t *w = &row [r];
        w->i = (size_t) strtoull (PQgetvalue (res, r, 0), NULL, 10);
        w->brand = strtoll (PQgetvalue (res, r, 1), NULL, 10);
        w->self = strcmp (PQgetvalue (res, r, 2), "self") == 0;
        w->name.kind = PQgetvalue (res, r, 2);
        w->name.name = PQgetvalue (res, r, 3);
        judge_t *judge = s_judge (c, n, w->brand);
        if (w->self || !judge)
            continue;
        size_t len;
        const char *norm = judge_normalize (judge, w->name.name, (size_t) -1, &len);
        w->name.norm = qy_strndup (norm, len);
        w->name.len = len;
    }
    return row;
}

//  Event k's names in S_NAMES's order of old: the brand, the store, the staff.
static size_t s_names_of (const s_row_t *row, size_t rows, size_t k, int64_t brand, moderation_name_t *names)
{
    static const char *const kinds [] = { "brand", "store", "staff" };
    size_t n = 0;
    for (size_t o = 0; o < QY_ARRAY_LEN (kinds); o++)
        for (size_t r = 0; r < rows; r++)
            if (row [r].name.norm && (row [r].i == k + 1 || (row [r].i == 0 && row [r].brand == brand))
                && strcmp (row [r].name.kind, kinds [o]) == 0)
                names [n++] = row [r].name;
    return n;
}

int moderation_impersonation_check (qy_pg_t *pg, moderation_claim_t *c, size_t n)
{
    if (!n)
        return 0;
    qy_buf_t col [3];
    for (int j = 0; j < 3; j++) {
        qy_buf_init (&col [j]);
        qy_buf_puts (&col [j], "{");
    }
    for (size_t k = 0; k < n; k++) {
        const char *sep = k ? "," : "";
        qy_buf_printf (&col [0], "%s%lld", sep, (long long) c [k].ev->brand_id);
        qy_buf_printf (&col [1], "%s%lld", sep, (long long) c [k].ev->group_id);
        qy_buf_printf (&col [2], "%s%lld", sep, (long long) c [k].ev->member_id);
    }
    const char *p [3];
    for (int j = 0; j < 3; j++) {
        qy_buf_puts (&col [j], "}");
        p [j] = col [j].data;
    }
    PGresult *res = NULL;
    bool ok = qy_pg_run (pg, "impersonation names", S_NAMES, 3, p, &res);
    for (int j = 0; j < 3; j++)
        qy_buf_free (&col [j]);
    if (!ok)
        return -1;
    size_t rows = (size_t) PQntuples (res);
    s_row_t *row = s_rows (res, c, n);
    moderation_name_t *names = qy_calloc (rows + 1, sizeof (moderation_name_t));
    for (size_t k = 0; k < n; k++) {
        c [k].found = false;
        bool self = false;
        for (size_t r = 0; r < rows && !self; r++)
            self = row [r].self && row [r].i == k + 1;
        if (self)
            continue;
        size_t len;
        char *nick = qy_strdup (judge_normalize (c [k].judge, c [k].ev->nickname ? c [k].ev->nickname : "", (size_t) -1, &len));
        size_t nnames = s_names_of (row, rows, k, c [k].ev->brand_id, names);
        const char *found = moderation_impersonation (nick, len, names, nnames);
        if (found)
            qy_strlcpy (c [k].claim, found, sizeof (c [k].claim));
        c [k].found = found != NULL;
        free (nick);
    }
    for (size_t r = 0; r < rows; r++)
        free ((char *) row [r].name.norm);
    free (row);
    free (names);
    PQclear (res);
    return 0;
}

int moderation_impersonation_flag (qy_pg_t *pg, const moderation_claim_t *c)
{
    const Qy__Event *ev = c->ev;
    char b [24], g [24], m [24], t [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) ev->brand_id);
    qy_snprintf (g, sizeof (g), "%lld", (long long) ev->group_id);
    qy_snprintf (m, sizeof (m), "%lld", (long long) ev->member_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) ev->event_time_us);
    const char *nickname = ev->nickname ? ev->nickname : "";
    const char *fp [] = { b, g, m, ev->msg_id, t, c->claim, nickname };
    PGresult *res;
    if (!qy_pg_run (pg, "impersonation flag", S_FLAG, 7, fp, &res))
        return -1;
    bool fresh = PQntuples (res) > 0;
    PQclear (res);
    if (fresh)
        qy_log_info ("msg_id=%s brand=%s member=%s nickname=%s claims=%s impersonation flagged", ev->msg_id,
                     ev->brand, ev->member, nickname, c->claim);
    return 0;
}
