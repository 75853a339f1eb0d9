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

//  What a batch's nicknames are matched against, per event (i, 1-based):
//  whether the member is staff anywhere in the brand (then they claim
//  nothing) and the group's store's name. One round trip for the batch
//  (one statement per join was most of a batch's time when members join
//  in numbers). A member's own name is never among them: a member with a
//  staff role is "self".
#define S_EVENT_NAMES \
    "WITH e AS (SELECT * FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS e (b, g, m, i)) " \
    "SELECT e.i, e.b, 'self', '' FROM e WHERE EXISTS (SELECT 1 FROM memberships WHERE brand_id = e.b AND member_id = e.m " \
    "                                                   AND role IN ('owner', 'admin', 'staff', 'bot')) " \
    "UNION ALL SELECT e.i, e.b, 'store', s.name FROM e JOIN groups g ON g.id = e.g AND g.brand_id = e.b " \
    "                                           JOIN stores s ON s.id = g.store_id"

//  Per brand, its name and its staff's names: read once per
//  identity.names_ttl_s and kept (moderation_names_t), not per batch. At
//  100,000 groups the brand's staff are 100,000 memberships, and reading
//  them for every batch with a join cost 13 us of PostgreSQL per event.
#define S_BRAND_NAMES \
    "SELECT b.id, 'brand', b.name FROM brands b WHERE b.id = ANY ($1::bigint[]) " \
    "UNION ALL SELECT bs.b, 'staff', st.name FROM unnest ($1::bigint[]) AS bs (b) CROSS JOIN LATERAL ( " \
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

//  One brand's names as read (S_BRAND_NAMES).
typedef struct {
    int64_t brand;
    int64_t at_us;          //  when read
    size_t  n;
    char  **kind;
    char  **name;
} s_brand_names_t;

struct moderation_names_t {
    int64_t ttl_us;
    s_brand_names_t *b;
    size_t n, cap;
};

moderation_names_t *moderation_names_new (long ttl_s)
{
    moderation_names_t *self = qy_calloc (1, sizeof (*self));
    self->ttl_us = (int64_t) ttl_s * 1000000;
    return self;
}

static void s_brand_names_free (s_brand_names_t *b)
{
    for (size_t k = 0; k < b->n; k++) {
        free (b->kind [k]);
        free (b->name [k]);
    }
    free (b->kind);
    free (b->name);
    *b = (s_brand_names_t) { .brand = b->brand };
}

void moderation_names_destroy (moderation_names_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    moderation_names_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        s_brand_names_free (&self->b [i]);
    free (self->b);
    free (self);
    *self_p = NULL;
}

static s_brand_names_t *s_brand (moderation_names_t *self, int64_t brand, bool add)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->b [i].brand == brand)
            return &self->b [i];
    if (!add)
        return NULL;
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->b = qy_realloc (self->b, self->cap * sizeof (s_brand_names_t));
    }
    self->b [self->n] = (s_brand_names_t) { .brand = brand };
    return &self->b [self->n++];
}

bool moderation_names_fresh (int64_t read_at_us, int64_t ttl_us, int64_t now_us)
{
    return read_at_us > 0 && now_us >= read_at_us && now_us - read_at_us < ttl_us;
}

void moderation_names_seen (moderation_names_t *self, int64_t brand, const char *nickname)
{
    s_brand_names_t *b = s_brand (self, brand, false);
    if (!b || !b->at_us || !nickname || !*nickname)
        return;
    for (size_t k = 0; k < b->n; k++)
        if (strcmp (b->kind [k], "staff") == 0 && strcmp (b->name [k], nickname) == 0)
            return;
    b->at_us = 0;       //  a staff member it does not know: read again
}

//  Read the names of the batch's brands the cache holds no fresh copy of,
//  in one statement. false when PostgreSQL failed.
static bool s_refresh (moderation_names_t *self, qy_pg_t *pg, const moderation_claim_t *c, size_t n)
{
    int64_t now = qy_mono_us ();
    qy_buf_t ids;
    qy_buf_init (&ids);
    qy_buf_puts (&ids, "{");
    size_t stale = 0;
    for (size_t k = 0; k < n; k++) {
        s_brand_names_t *b = s_brand (self, c [k].ev->brand_id, true);
        if (moderation_names_fresh (b->at_us, self->ttl_us, now) || b->at_us == -1)
            continue;
        b->at_us = -1;      //  asked for below (once, though the batch names it again)
        qy_buf_printf (&ids, "%s%lld", stale++ ? "," : "", (long long) b->brand);
    }
    qy_buf_puts (&ids, "}");
    PGresult *res = NULL;
    const char *p [] = { ids.data };
    bool ok = !stale || qy_pg_run (pg, "impersonation brand names", S_BRAND_NAMES, 1, p, &res);
    qy_buf_free (&ids);
    for (size_t i = 0; i < self->n; i++) {
        s_brand_names_t *b = &self->b [i];
        if (b->at_us != -1)
            continue;
        s_brand_names_free (b);
        for (int r = 0; ok && r < PQntuples (res); r++)
            if (qy_pg_int (res, r, 0) == b->brand) {
                b->kind = qy_realloc (b->kind, (b->n + 1) * sizeof (char *));
                b->name = qy_realloc (b->name, (b->n + 1) * sizeof (char *));
                b->kind [b->n] = qy_strdup (PQgetvalue (res, r, 1));
                b->name [b->n++] = qy_strdup (PQgetvalue (res, r, 2));
            }
        b->at_us = ok ? now : 0;
    }
    PQclear (res);
    return ok;
}

//  One name a nickname may claim, normalized by its brand's judge.
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

static void s_row_set (s_row_t *w, size_t i, int64_t brand, const char *kind, const char *name,
                       const moderation_claim_t *c, size_t n)
{
    *w = (s_row_t) { i, brand, strcmp (kind, "self") == 0, { kind, name, NULL, 0 } };
    judge_t *judge = s_judge (c, n, brand);
    if (w->self || !judge)
        return;
    size_t len;
    const char *norm = judge_normalize (judge, name, (size_t) -1, &len);
    w->name.norm = qy_strndup (norm, len);
    w->name.len = len;
}

//  The rows of S_EVENT_NAMES, then the cached names of the batch's brands.
static s_row_t *s_rows (const moderation_names_t *names, PGresult *res, const moderation_claim_t *c, size_t n,
                        size_t *rows)
{
    size_t cap = (size_t) PQntuples (res) + 1;
    for (size_t i = 0; i < names->n; i++)
        cap += names->b [i].n;
    s_row_t *row = qy_calloc (cap, sizeof (s_row_t));
    size_t k = 0;
    for (int r = 0; r < PQntuples (res); r++)
        s_row_set (&row [k++], (size_t) strtoull (PQgetvalue (res, r, 0), NULL, 10), qy_pg_int (res, r, 1),
                   PQgetvalue (res, r, 2), PQgetvalue (res, r, 3), c, n);
    for (size_t i = 0; i < names->n; i++)
        for (size_t j = 0; s_judge (c, n, names->b [i].brand) && j < names->b [i].n; j++)
            s_row_set (&row [k++], 0, names->b [i].brand, names->b [i].kind [j], names->b [i].name [j], c, n);
    *rows = k;
    return row;
}

//  Event k's names in the order of old: the brand, the store, the staff.
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

//  S_EVENT_NAMES for the claims. NULL when PostgreSQL failed.
static PGresult *s_event_names (qy_pg_t *pg, const moderation_claim_t *c, size_t n)
{
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
    bool ok = qy_pg_run (pg, "impersonation names", S_EVENT_NAMES, 3, p, &res);
    for (int j = 0; j < 3; j++)
        qy_buf_free (&col [j]);
    return ok ? res : NULL;
}

int moderation_impersonation_check (qy_pg_t *pg, moderation_names_t *cache, moderation_claim_t *c, size_t n)
{
    if (!n)
        return 0;
    PGresult *res = s_refresh (cache, pg, c, n) ? s_event_names (pg, c, n) : NULL;
    if (!res)
        return -1;
    size_t rows;
    s_row_t *row = s_rows (cache, res, c, n, &rows);
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
