//  qyctl member show / group show: one member's or one group's profile in
//  the terminal, with a sparkline of its daily messages over --days (in the
//  brand's days). In JSON one object with a member per part (the activity
//  as days and numbers); in CSV the parts one after the other.
#include "qyctl.h"
#include "qy/pg.h"
#include "qyctl_text.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A one-row part as "key  value" lines (table), else a section.
static void s_card (const char *name, PGresult *res, const char *format)
{
    if (strcmp (format, "table") != 0) {
        qyctl_section (name, res, format);
        return;
    }
    int wide = 0;
    for (int c = 0; c < PQnfields (res); c++)
        if (qyctl_width (PQfname (res, c)) > wide)
            wide = qyctl_width (PQfname (res, c));
    for (int c = 0; c < PQnfields (res); c++)
        printf ("%-*s  %s\n", wide, PQfname (res, c), PQgetvalue (res, 0, c));
}

//  The activity part: (day, value…) rows, oldest first. On a table a
//  sparkline of the first value with its total and busiest day (titled
//  name); otherwise the section "activity".
static void s_activity (const char *name, PGresult *res, const char *format)
{
    if (strcmp (format, "table") != 0) {
        qyctl_section ("activity", res, format);
        return;
    }
    int n = PQntuples (res), best = 0;
    int64_t *v = qy_calloc ((size_t) n + 1, sizeof (int64_t)), total = 0;
    for (int r = 0; r < n; r++) {
        v [r] = strtoll (PQgetvalue (res, r, 1), NULL, 10);
        total += v [r];
        if (v [r] > v [best])
            best = r;
    }
    char line [4 * 400 + 1];
    qyctl_sparkline (v, (size_t) n, line, sizeof (line));
    printf ("\n%s, %s to %s\n  %s  total %lld", name, n ? PQgetvalue (res, 0, 0) : "-", n ? PQgetvalue (res, n - 1, 0) : "-",
            line, (long long) total);
    if (total)
        printf (", most %lld on %s", (long long) v [best], PQgetvalue (res, best, 0));
    printf ("\n");
    free (v);
}

//  What is shown: the brand (arg 1), the member or group (arg 2, its id
//  found by sql from $1 the brand id and $2 the code), --days, --format.
typedef struct {
    char bid [24], days [16];
    char *id;                   //  owned
    const char *format;
} s_subject_t;

static void s_subject (s_subject_t *x, const char *noun, const char *sql)
{
    const char *brand = qyctl_arg (1), *code = qyctl_arg (2);
    long days = qyctl_long ("--days", qyctl_opt ("days", "30"), 1, 400);
    x->format = qyctl_opt ("format", "table");
    qy_pg_i64 (x->bid, qyctl_brand_id (brand));
    qy_snprintf (x->days, sizeof (x->days), "%ld", days);
    const char *p [] = { x->bid, code };
    PGresult *res = qyctl_exec (sql, 2, p);
    if (!PQntuples (res))
        qyctl_die ("no %s %s in brand %s", noun, code, brand);
    x->id = qy_strdup (PQgetvalue (res, 0, 0));
    PQclear (res);
}

static void s_part (const char *name, PGresult *res, const char *format)
{
    if (strcmp (format, "table") == 0 && PQntuples (res) == 0)
        return;
    qyctl_section (name, res, format);
}

//  The days of the window: $3 days up to the brand's today (the session is
//  in the brand's zone once its id is looked up).
#define S_DAYS "generate_series (current_date - ($3::int - 1), current_date, interval '1 day') d"

//  Prints the parts and frees them.
static void s_show (const char *what, PGresult *card, PGresult *act, const char *list, PGresult *rows, const char *format)
{
    s_card (what, card, format);
    s_activity ("messages a day", act, format);
    s_part (list, rows, format);
    qyctl_sections_end (format);
    PQclear (card);
    PQclear (act);
    PQclear (rows);
}

static int s_member_show (void)
{
    s_subject_t x;
    s_subject (&x, "member", "SELECT id FROM members WHERE brand_id = $1 AND user_id = $2");
    const char *q [] = { x.bid, x.id, x.days }, *format = x.format;
    PGresult *card = qyctl_exec (
        "SELECT m.user_id AS member, coalesce (m.nickname, '') AS nickname, date_trunc ('second', m.first_seen_at) AS first_seen, "
        "  (SELECT count (*) FROM memberships x WHERE x.brand_id = $1 AND x.member_id = m.id AND x.left_at IS NULL) AS groups_in, "
        "  (SELECT count (*) FROM violations v WHERE v.brand_id = $1 AND v.member_id = m.id) AS violations, "
        "  (SELECT count (*) FROM violations v WHERE v.brand_id = $1 AND v.member_id = m.id AND v.status = 'open') AS violations_open, "
        "  EXISTS (SELECT 1 FROM blocks b WHERE b.brand_id = $1 AND b.member_id = m.id AND b.lifted_at IS NULL) AS blocked, "
        "  EXISTS (SELECT 1 FROM campaign_optouts o WHERE o.brand_id = $1 AND o.member_id = m.id) AS opted_out, "
        "  coalesce ((SELECT string_agg (t.tag, ',' ORDER BY t.tag) FROM member_tags t "
        "             WHERE t.brand_id = $1 AND t.member_id = m.id), '') AS tags, "
        //  WeCom's 1:1 contacts (docs/wecom.md): whom they have, and whom they deleted (churn).
        "  coalesce ((SELECT string_agg (c.staff, ',' ORDER BY c.staff) FROM contacts c "
        "             WHERE c.brand_id = $1 AND c.member_id = m.id AND c.deleted_at IS NULL), '') AS contact_of, "
        "  coalesce ((SELECT string_agg (c.staff || ' ' || to_char (c.deleted_at, 'YYYY-MM-DD'), ',' ORDER BY c.staff) FROM contacts c "
        "             WHERE c.brand_id = $1 AND c.member_id = m.id AND c.deleted_by = 'customer'), '') AS deleted_staff "
        "FROM members m WHERE m.brand_id = $1 AND m.id = $2 AND $3::int > 0", 3, q);
    PGresult *act = qyctl_exec (
        "SELECT d::date AS day, coalesce ((SELECT sum (s.messages) FROM daily_member_stats s "
        "  WHERE s.brand_id = $1 AND s.member_id = $2 AND s.day = d::date), 0)::bigint AS messages FROM " S_DAYS " ORDER BY 1", 3, q);
    PGresult *groups = qyctl_exec (
        "SELECT g.code AS grp, x.role, date_trunc ('second', x.joined_at) AS joined, date_trunc ('second', x.left_at) AS left_at, "
        "       s.state, s.trust_level AS tl, s.messages, s.active_days, s.last_active "
        "FROM memberships x JOIN groups g ON g.id = x.group_id AND g.brand_id = $1 "
        "LEFT JOIN member_scores s ON s.brand_id = $1 AND s.group_id = x.group_id AND s.member_id = x.member_id "
        "WHERE x.brand_id = $1 AND x.member_id = $2 AND $3::int > 0 ORDER BY x.joined_at NULLS FIRST, g.code", 3, q);
    s_show ("member", card, act, "groups", groups, format);
    free (x.id);
    return 0;
}

int qyctl_group_show (void)
{
    s_subject_t x;
    s_subject (&x, "group", "SELECT id FROM groups WHERE brand_id = $1 AND code = $2");
    const char *q [] = { x.bid, x.id, x.days }, *format = x.format;
    PGresult *card = qyctl_exec (
        "SELECT g.code AS grp, g.name, coalesce (s.code, '') AS store, g.type, g.capacity, "
        "  (SELECT count (*) FROM memberships x WHERE x.group_id = g.id AND x.left_at IS NULL) AS members, "
        "  coalesce (h.state, 'unknown') AS state, coalesce (h.health, 0) AS health, coalesce (h.lifecycle, '') AS lifecycle, "
        "  (SELECT coalesce (sum (d.joins), 0) FROM daily_group_stats d WHERE d.group_id = g.id AND d.day > current_date - $3::int) AS joins, "
        "  (SELECT coalesce (sum (d.leaves), 0) FROM daily_group_stats d WHERE d.group_id = g.id AND d.day > current_date - $3::int) AS leaves, "
        "  (SELECT count (*) FROM violations v WHERE v.brand_id = $1 AND v.group_id = g.id "
        "     AND v.created_at > now () - $3::int * interval '1 day') AS violations, "
        "  (SELECT count (*) FROM campaign_jobs j WHERE j.brand_id = $1 AND j.group_id = g.id AND j.status = 'pending') AS steps_pending "
        "FROM groups g LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = $1 "
        "LEFT JOIN group_health h ON h.group_id = g.id AND h.brand_id = $1 WHERE g.brand_id = $1 AND g.id = $2", 3, q);
    PGresult *act = qyctl_exec (
        "SELECT d::date AS day, coalesce (s.messages, 0) AS messages, coalesce (s.active_members, 0) AS active_members "
        "FROM " S_DAYS " LEFT JOIN daily_group_stats s ON s.brand_id = $1 AND s.group_id = $2 AND s.day = d::date ORDER BY 1", 3, q);
    PGresult *top = qyctl_exec (
        "SELECT m.user_id AS member, coalesce (m.nickname, '') AS nickname, sum (s.messages) AS messages "
        "FROM daily_member_stats s JOIN members m ON m.id = s.member_id AND m.brand_id = $1 "
        "WHERE s.brand_id = $1 AND s.group_id = $2 AND s.day > current_date - $3::int "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 5", 3, q);
    s_show ("group", card, act, "top speakers", top, format);
    free (x.id);
    return 0;
}

int qyctl_member (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    return s_member_show ();
}

const qyctl_option_t qyctl_show_opts [] = {
    { "days", QYCTL_VALUE, "N", "the activity of the last N days, the brand's (default 30)" },
    { NULL }
};
const qyctl_command_t qyctl_member_commands [] = {
    { "member show", "BRAND USER", 2, 2, qyctl_show_opts, "a member's profile: groups, scores, violations, WeCom contacts, a sparkline of activity" },
    { NULL }
};
