//  Brands and their hierarchy, rules and campaigns; the demo brand.
#include "qyctl.h"
#include "qy/pg.h"
#include "judge.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What the parser lets through but the command cannot take.
static void s_usage (const char *command)
{
    qyctl_usage_error ("%s: these arguments do not go together", command);
}

void qyctl_list (const char *sql, const char *brand)
{
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid };
    PGresult *res = qyctl_exec (sql, 1, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
}

void qyctl_audit_detail (int64_t brand_id, const char *action, const char *type, const char *id, const char *detail)
{
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *actor = getenv ("QY_OPERATOR") ? getenv ("QY_OPERATOR") : (getenv ("USER") ? getenv ("USER") : "qyctl");
    const char *p [] = { brand_id ? bid : NULL, actor, action, type, id, detail ? detail : "{}" };
    PQclear (qyctl_exec ("INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
                         "VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, p));
}

void qyctl_audit (int64_t brand_id, const char *action, const char *type, const char *id)
{
    qyctl_audit_detail (brand_id, action, type, id, NULL);
}

//  --tz: minutes east of UTC (-720 … 840), a fixed offset, into minutes;
//  or a zone name PostgreSQL knows (pg_timezone_names), kept as the name
//  so that the brand's offset follows the zone's summer time (migration
//  117, qy_tz_offset_min). Exactly one of minutes and zone is set.
static void s_tz (const char *tz, char *minutes, size_t size, const char **zone)
{
    char *end;
    strtol (tz, &end, 10);
    *zone = NULL;
    if (*tz && (*end == 0 || strspn (tz, "+-0123456789") == strlen (tz))) {
        qy_snprintf (minutes, size, "%ld", qyctl_long ("--tz", tz, -720, 840));
        return;
    }
    const char *p [] = { tz };
    PGresult *res = qyctl_exec ("SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, p);
    if (!PQntuples (res))
        qyctl_usage_error ("--tz: '%s' is neither minutes from UTC (-720 to 840) nor a zone name PostgreSQL knows", tz);
    PQclear (res);
    *zone = tz;
}

int qyctl_brand (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0);
    if (sub && strcmp (sub, "list") == 0) {
        PGresult *res = qyctl_exec ("SELECT id, code, name, qy_tz_offset_min (tz_name, tz_offset_min) AS tz_offset_min, "
                                    "coalesce (tz_name, '') AS tz_name, coalesce (gateway_url, '') AS gateway_url, created_at::date "
                                    "FROM brands ORDER BY id", 0, NULL);
        qyctl_print (res, qyctl_opt ("format", "table"));
        PQclear (res);
        return 0;
    }
    const char *code = qyctl_arg (1), *name = qyctl_arg (2);
    //  Without --tz a new brand takes the column's default and an existing
    //  one keeps its zone (running create again must not move its days).
    char *token = qyctl_secret ("token", "QY_GATEWAY_TOKEN");
    const char *tz = qyctl_opt ("tz", NULL);
    char minutes [16];
    const char *zone = NULL;
    if (tz)
        s_tz (tz, minutes, sizeof (minutes), &zone);
    //  An existing code is changed only when asked: a typo must not rename
    //  another brand.
    const char *cp [] = { code };
    PGresult *have = qyctl_exec ("SELECT name FROM brands WHERE code = $1", 1, cp);
    if (PQntuples (have) && !qyctl_flag ("update"))
        qyctl_die ("brand %s exists (named \"%s\"); --update to change it", code, PQgetvalue (have, 0, 0));
    PQclear (have);
    const char *p [] = { code, name, qyctl_opt ("gateway-url", NULL), token, tz && !zone ? minutes : NULL, zone,
                         tz ? "true" : "false" };
    //  A zone given replaces the one the brand had, name or minutes.
#define S_BRAND_UPSERT(TZ) \
        "INSERT INTO brands (code, name, gateway_url, gateway_token, tz_offset_min, tz_name) " \
        "VALUES ($1, $2, $3, $4, " TZ ", $6::text) " \
        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, " \
        "  gateway_url = coalesce (EXCLUDED.gateway_url, brands.gateway_url), " \
        "  gateway_token = coalesce (EXCLUDED.gateway_token, brands.gateway_token), " \
        "  tz_offset_min = CASE WHEN $7::boolean THEN coalesce ($5::integer, EXCLUDED.tz_offset_min) ELSE brands.tz_offset_min END, " \
        "  tz_name = CASE WHEN $7::boolean THEN EXCLUDED.tz_name ELSE brands.tz_name END " \
        "RETURNING id"
    PGresult *res = qyctl_exec (tz && !zone ? S_BRAND_UPSERT ("$5::integer") : S_BRAND_UPSERT ("DEFAULT"), 7, p);
#undef S_BRAND_UPSERT
    qyctl_ack ((const char *[]) { "brand", code, "id", PQgetvalue (res, 0, 0), NULL }, "brand %s id=%s", code, PQgetvalue (res, 0, 0));
    qyctl_audit (strtoll (PQgetvalue (res, 0, 0), NULL, 10), "brand.upsert", "brand", code);
    PQclear (res);
    free (token);
    return 0;
}

int qyctl_region (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *brand = qyctl_arg (1);
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT r.code, r.name, count (s.id) AS stores FROM regions r LEFT JOIN stores s ON s.region_id = r.id "
                "WHERE r.brand_id = $1 GROUP BY r.id ORDER BY r.code", brand);
        return 0;
    }
    const char *code = qyctl_arg (2), *name = qyctl_arg (3);
    if (!sub || strcmp (sub, "create") != 0 || !brand || !code || !name)
        s_usage ("region");
    int64_t brand_id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid, code, name };
    PQclear (qyctl_exec ("INSERT INTO regions (brand_id, code, name) VALUES ($1, $2, $3) "
                         "ON CONFLICT (brand_id, code) DO UPDATE SET name = EXCLUDED.name", 3, p));
    qyctl_audit (brand_id, "region.upsert", "region", code);
    qyctl_ack ((const char *[]) { "region", code, NULL }, "region %s", code);
    return 0;
}

int qyctl_store (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *brand = qyctl_arg (1);
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT s.code, s.name, coalesce (r.code, '') AS region, count (g.id) AS groups FROM stores s "
                "LEFT JOIN regions r ON r.id = s.region_id LEFT JOIN groups g ON g.store_id = s.id "
                "WHERE s.brand_id = $1 GROUP BY s.id, r.code ORDER BY s.code", brand);
        return 0;
    }
    const char *code = qyctl_arg (2), *name = qyctl_arg (3);
    if (!sub || strcmp (sub, "create") != 0 || !brand || !code || !name)
        s_usage ("store");
    int64_t brand_id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid, code, name, qyctl_opt ("region", NULL), qyctl_opt ("phone", NULL) };
    PQclear (qyctl_exec ("INSERT INTO stores (brand_id, code, name, region_id, phone) "
                         "VALUES ($1, $2, $3, (SELECT id FROM regions WHERE brand_id = $1 AND code = $4), $5) "
                         "ON CONFLICT (brand_id, code) DO UPDATE SET name = EXCLUDED.name, "
                         "  region_id = coalesce (EXCLUDED.region_id, stores.region_id), phone = coalesce (EXCLUDED.phone, stores.phone)", 5, p));
    qyctl_audit (brand_id, "store.upsert", "store", code);
    qyctl_ack ((const char *[]) { "store", code, NULL }, "store %s", code);
    return 0;
}

int qyctl_group (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *brand = qyctl_arg (1);
    if (sub && strcmp (sub, "show") == 0)
        return qyctl_group_show ();
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT g.code, g.name, coalesce (s.code, '') AS store, g.type, g.capacity, "
                "(SELECT count (*) FROM memberships m WHERE m.group_id = g.id AND m.left_at IS NULL) AS members "
                "FROM groups g LEFT JOIN stores s ON s.id = g.store_id WHERE g.brand_id = $1 ORDER BY g.code", brand);
        return 0;
    }
    const char *code = qyctl_arg (2), *name = qyctl_arg (3);
    if (!sub || strcmp (sub, "create") != 0 || !brand || !code || !name)
        s_usage ("group");
    int64_t brand_id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid, code, name, qyctl_opt ("store", NULL), qyctl_opt ("type", "long_term"),
                         qyctl_opt ("capacity", "500") };
    PQclear (qyctl_exec ("INSERT INTO groups (brand_id, code, name, store_id, type, capacity) "
                         "VALUES ($1, $2, $3, (SELECT id FROM stores WHERE brand_id = $1 AND code = $4), $5, $6) "
                         "ON CONFLICT (brand_id, code) DO UPDATE SET name = EXCLUDED.name, "
                         "  store_id = coalesce (EXCLUDED.store_id, groups.store_id), type = EXCLUDED.type, capacity = EXCLUDED.capacity", 6, p));
    qyctl_audit (brand_id, "group.upsert", "group", code);
    qyctl_ack ((const char *[]) { "group", code, NULL }, "group %s", code);
    return 0;
}

int qyctl_channel (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *brand = qyctl_arg (1);
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT c.code, c.kind, coalesce (c.name, '') AS name, coalesce (s.code, '') AS store, "
                "(SELECT count (*) FROM memberships m WHERE m.channel_id = c.id) AS joins "
                "FROM channels c LEFT JOIN stores s ON s.id = c.store_id WHERE c.brand_id = $1 ORDER BY c.code", brand);
        return 0;
    }
    const char *code = qyctl_arg (2), *kind = qyctl_arg (3);
    if (!sub || strcmp (sub, "create") != 0 || !brand || !code || !kind)
        s_usage ("channel");
    int64_t brand_id = qyctl_brand_id (brand);
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid, code, kind, qyctl_opt ("store", NULL), qyctl_opt ("name", NULL) };
    PQclear (qyctl_exec ("INSERT INTO channels (brand_id, code, kind, store_id, name) "
                         "VALUES ($1, $2, $3, (SELECT id FROM stores WHERE brand_id = $1 AND code = $4), $5) "
                         "ON CONFLICT (brand_id, code) DO UPDATE SET kind = EXCLUDED.kind, "
                         "  store_id = coalesce (EXCLUDED.store_id, channels.store_id), name = coalesce (EXCLUDED.name, channels.name)", 5, p));
    qyctl_audit (brand_id, "channel.upsert", "channel", code);
    qyctl_ack ((const char *[]) { "channel", code, NULL }, "channel %s", code);
    return 0;
}

static void s_rule_upsert (const char *bid, const judge_rule_row_t *r)
{
    char w [32];
    qy_snprintf (w, sizeof (w), "%g", r->weight);
    const char *p [] = { bid, r->name, r->kind, r->category, r->pattern ? r->pattern : "", w, r->dry_run ? "true" : "false" };
    PQclear (qyctl_exec ("INSERT INTO rules (brand_id, name, kind, category, pattern, weight, dry_run) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (brand_id, name) DO UPDATE SET "
                         "kind = EXCLUDED.kind, category = EXCLUDED.category, pattern = EXCLUDED.pattern, "
                         "weight = EXCLUDED.weight, dry_run = EXCLUDED.dry_run, enabled = true, updated_at = now ()", 7, p));
}

//  The flood limit every brand starts with: more than 10 messages a minute.
static const judge_rule_row_t s_flood_default = { "flood.member", "flood", "flood", "10/60", 1.0, 0 };

static void s_rules_default (int64_t brand_id, const char *file)
{
    char bid [24], err [256];
    qy_pg_i64 (bid, brand_id);
    size_t n = 0;
    judge_rule_row_t *owned = NULL;
    const judge_rule_row_t *rows;
    if (file) {
        owned = judge_rules_load_tsv (file, &n, err, sizeof (err));
        if (!owned)
            qyctl_die ("%s: %s", file, err);
        rows = owned;
    }
    else
        rows = judge_default_rules (&n);
    //  Check they compile before any is stored.
    judge_options_t jo = { NULL, NULL, NULL };
    judge_t *j = judge_new (rows, n, &jo, err, sizeof (err));
    if (!j)
        qyctl_die ("rules rejected: %s", err);
    judge_destroy (&j);
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    for (size_t i = 0; i < n; i++)
        s_rule_upsert (bid, &rows [i]);
    if (!file)
        s_rule_upsert (bid, &s_flood_default);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("rules: %zu loaded\n", n + (file ? 0 : 1));
    if (owned)
        judge_rules_free (&owned, n);
}

int qyctl_rules (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *brand = qyctl_arg (1);
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT name, kind, category, weight, dry_run, enabled, left (replace (pattern, E'\\n', ' | '), 50) AS pattern "
                "FROM rules WHERE brand_id = $1 ORDER BY name", brand);
        return 0;
    }
    if (sub && brand && strcmp (sub, "load") == 0) {
        int64_t id = qyctl_brand_id (brand);
        s_rules_default (id, qyctl_opt ("file", NULL));
        qyctl_audit (id, "rules.load", "rules", qyctl_opt ("file", "default"));
        return 0;
    }
    if (sub && brand && strcmp (sub, "set") == 0 && qyctl_arg (6)) {
        int64_t id = qyctl_brand_id (brand);
        char bid [24];
        qy_pg_i64 (bid, id);
        judge_rule_row_t r = { qyctl_arg (2), qyctl_arg (3), qyctl_arg (4),
                               qyctl_arg (6), atof (qyctl_arg (5)), qyctl_flag ("dry-run") };
        if (strcmp (r.kind, "flood") != 0) {
            char err [256];
            judge_t *j = judge_new (&r, 1, NULL, err, sizeof (err));
            if (!j)
                qyctl_die ("rule rejected: %s", err);
            judge_destroy (&j);
        }
        s_rule_upsert (bid, &r);
        qyctl_audit (id, "rules.set", "rule", r.name);
        qyctl_ack ((const char *[]) { "rule", r.name, "set", "true", NULL }, "rule %s set", r.name);
        return 0;
    }
    s_usage ("rules");
    return 2;
}

//  Stores written per statement by demo load: 10,000 stores (100,000
//  groups) row by row took a round trip per row.
#define S_DEMO_BATCH 500
static const struct { const char *code, *name; } s_demo_regions [] = {
    { "east", "华东大区" }, { "south", "华南大区" }, { "north", "华北大区" }, { "west", "西南大区" } };

//  Demo stores first..last (codes s01, s02, …), each with its groups and
//  its two channels: three statements for the lot.
static void s_demo_stores (const char *bid, const char *brand, int first, int last, int groups)
{
    static const char *cities [] = { "上海", "杭州", "南京", "苏州", "广州", "深圳", "厦门", "福州", "北京", "天津",
                                     "济南", "青岛", "成都", "重庆", "昆明", "贵阳", "武汉", "长沙", "西安", "郑州" };
    qy_pg_cols_t st, gr, ch;
    qy_pg_cols_init (&st, 4);
    qy_pg_cols_init (&gr, 4);
    qy_pg_cols_init (&ch, 3);
    for (int s = first; s <= last; s++) {
        char code [16], name [96], phone [32];
        qy_snprintf (code, sizeof (code), "s%02d", s);
        qy_snprintf (phone, sizeof (phone), "021-6%07d", 1000000 + s);
        qy_snprintf (name, sizeof (name), "%s%d号店", cities [(s - 1) % 20], (s - 1) / 20 + 1);
        qy_pg_cols_row (&st);
        qy_pg_cols_text (&st, 0, code);
        qy_pg_cols_text (&st, 1, name);
        qy_pg_cols_text (&st, 2, s_demo_regions [((s - 1) % 20) / 5].code);
        qy_pg_cols_text (&st, 3, phone);
        for (int g = 1; g <= groups; g++) {
            qy_pg_cols_row (&gr);
            char gcode [64], gname [160];
            qy_snprintf (gcode, sizeof (gcode), "%s-%s-g%d", brand, code, g);
            qy_snprintf (gname, sizeof (gname), "%s会员%d群", name, g);
            qy_pg_cols_text (&gr, 0, gcode);
            qy_pg_cols_text (&gr, 1, gname);
            qy_pg_cols_text (&gr, 2, code);
            qy_pg_cols_text (&gr, 3, g == groups && groups > 2 ? "temporary" : "long_term");
        }
        static const char *kinds [] = { "staff_invite", "qr_poster" };
        for (int k = 0; k < 2; k++) {
            qy_pg_cols_row (&ch);
            char ccode [48];
            qy_snprintf (ccode, sizeof (ccode), "%s-%s", code, k ? "qr" : "staff");
            qy_pg_cols_text (&ch, 0, ccode);
            qy_pg_cols_text (&ch, 1, kinds [k]);
            qy_pg_cols_text (&ch, 2, code);
        }
    }
    const char *p [5] = { bid };
    qy_pg_cols_params (&st, p + 1);
    PQclear (qyctl_exec ("INSERT INTO stores (brand_id, code, name, region_id, phone) "
                         "SELECT $1::bigint, c, n, (SELECT id FROM regions WHERE brand_id = $1 AND code = r), ph "
                         "FROM unnest ($2::text[], $3::text[], $4::text[], $5::text[]) AS s (c, n, r, ph) "
                         "ON CONFLICT (brand_id, code) DO NOTHING", 5, p));
    qy_pg_cols_params (&gr, p + 1);
    PQclear (qyctl_exec ("INSERT INTO groups (brand_id, code, name, store_id, type) "
                         "SELECT $1::bigint, c, n, (SELECT id FROM stores WHERE brand_id = $1 AND code = s), t "
                         "FROM unnest ($2::text[], $3::text[], $4::text[], $5::text[]) AS g (c, n, s, t) "
                         "ON CONFLICT (brand_id, code) DO UPDATE SET name = EXCLUDED.name", 5, p));
    qy_pg_cols_params (&ch, p + 1);
    PQclear (qyctl_exec ("INSERT INTO channels (brand_id, code, kind, store_id) "
                         "SELECT $1::bigint, c, k, (SELECT id FROM stores WHERE brand_id = $1 AND code = s) "
                         "FROM unnest ($2::text[], $3::text[], $4::text[]) AS ch (c, k, s) "
                         "ON CONFLICT (brand_id, code) DO NOTHING", 4, p));
    qy_pg_cols_free (&st);
    qy_pg_cols_free (&gr);
    qy_pg_cols_free (&ch);
}

int qyctl_demo (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0);
    if (!sub || strcmp (sub, "load") != 0)
        s_usage ("demo");
    const char *brand = qyctl_opt ("brand", "demo");
    //  The demo's stores, groups, channels and rules would be mixed into a
    //  real brand's (and its gateway moved): only when asked for.
    const char *cp [] = { brand };
    PGresult *have = qyctl_exec ("SELECT 1 FROM brands WHERE code = $1", 1, cp);
    bool exists = PQntuples (have) > 0;
    PQclear (have);
    if (exists && !qyctl_flag ("force"))
        qyctl_die ("brand %s exists: demo load would add its demo stores and groups to it (--force to do so)", brand);
    int stores = (int) qyctl_long ("--stores", qyctl_opt ("stores", "20"), 1, 10000);
    int groups = (int) qyctl_long ("--groups", qyctl_opt ("groups", "3"), 1, 50);
    const char *url = qyctl_opt ("gateway-url", NULL);
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    const char *bp [] = { brand, "演示美妆", url };
    PGresult *res = qyctl_exec ("INSERT INTO brands (code, name, gateway_url) VALUES ($1, $2, $3) "
                                "ON CONFLICT (code) DO UPDATE SET gateway_url = coalesce (EXCLUDED.gateway_url, brands.gateway_url) "
                                "RETURNING id", 3, bp);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    for (size_t r = 0; r < QY_ARRAY_LEN (s_demo_regions); r++) {
        const char *p [] = { bid, s_demo_regions [r].code, s_demo_regions [r].name };
        PQclear (qyctl_exec ("INSERT INTO regions (brand_id, code, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3, p));
    }
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "demo stores", stores);
    for (int s = 1; s <= stores; s += S_DEMO_BATCH) {
        qyctl_progress (&progress, s - 1);
        s_demo_stores (bid, brand, s, s + S_DEMO_BATCH - 1 < stores ? s + S_DEMO_BATCH - 1 : stores, groups);
    }
    qyctl_progress_end (&progress);
    const char *oa [] = { bid, "oa-menu", "oa_menu", NULL };
    PQclear (qyctl_exec ("INSERT INTO channels (brand_id, code, kind, store_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, oa));
    const char *mi [] = { bid, "member-invite", "member_invite", NULL };
    PQclear (qyctl_exec ("INSERT INTO channels (brand_id, code, kind, store_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, mi));
    const char *wp [] = { bid, "欢迎 {nickname} 加入{group}！这里是{store}的会员群，新品和福利第一时间发布，发言前请先看群公告～" };
    PQclear (qyctl_exec ("INSERT INTO campaigns (brand_id, name, trigger, template) VALUES ($1, 'welcome', 'join', $2) "
                         "ON CONFLICT (brand_id, name) DO NOTHING", 2, wp));
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    s_rules_default (strtoll (bid, NULL, 10), NULL);
    printf ("demo brand %s: %d stores, %d groups, 4 regions, %d channels\n", brand, stores, stores * groups, stores * 2 + 2);
    return 0;
}

static const qyctl_option_t s_brand_create_opts [] = {
    { "gateway-url", QYCTL_VALUE, "URL", "where notifier delivers the brand's messages" },
    { "token-file",  QYCTL_VALUE, "FILE", "the gateway's token, on FILE's first line (- : standard input; else $QY_GATEWAY_TOKEN)" },
    { "token",       QYCTL_VALUE, "T",   "refused: a secret on the command line is seen by every user" },
    { "tz",          QYCTL_VALUE, "TZ",  "the brand's zone: a zone name (Europe/Berlin), which follows its summer time, or a fixed offset as minutes east of UTC (480 for +08:00); default 480" },
    { "update",      QYCTL_FLAG,  NULL,  "change the brand if its code exists (else that is refused)" },
    { NULL }
};
const qyctl_command_t qyctl_brand_commands [] = {
    { "brand create", "CODE NAME", 2, 2, s_brand_create_opts, "create a brand (--update: change an existing one)" },
    { "brand list", "", 0, 0, NULL, "list the brands" },
    { NULL }
};
const qyctl_command_t qyctl_region_commands [] = {
    { "region create", "BRAND CODE NAME", 3, 3, NULL, "create or rename a region" },
    { "region list", "BRAND", 1, 1, NULL, "list the brand's regions" },
    { NULL }
};
static const qyctl_option_t s_store_opts [] = {
    { "region", QYCTL_VALUE, "CODE", "the store's region" },
    { "phone",  QYCTL_VALUE, "P",    "the store's phone number" },
    { NULL }
};
const qyctl_command_t qyctl_store_commands [] = {
    { "store create", "BRAND CODE NAME", 3, 3, s_store_opts, "create or update a store" },
    { "store list", "BRAND", 1, 1, NULL, "list the brand's stores" },
    { NULL }
};
static const qyctl_option_t s_group_opts [] = {
    { "store",    QYCTL_VALUE, "CODE", "the group's store" },
    { "type",     QYCTL_VALUE, "T",    "the kind of group (long_term, temporary, or the brand's own; default long_term)" },
    { "capacity", QYCTL_VALUE, "N",    "how many members it takes (default 500)" },
    { NULL }
};
const qyctl_command_t qyctl_group_commands [] = {
    { "group create", "BRAND CODE NAME", 3, 3, s_group_opts, "create or update a group" },
    { "group list", "BRAND", 1, 1, NULL, "list the brand's groups" },
    { "group show", "BRAND CODE", 2, 2, qyctl_show_opts, "a group's profile: health, members, top speakers, a sparkline of activity" },
    { NULL }
};
static const qyctl_option_t s_channel_opts [] = {
    { "store", QYCTL_VALUE, "CODE", "the channel's store" },
    { "name",  QYCTL_VALUE, "N",    "what people call it" },
    { NULL }
};
const qyctl_command_t qyctl_channel_commands [] = {
    { "channel create", "BRAND CODE staff_invite|qr_poster|oa_menu|member_invite", 3, 3, s_channel_opts,
      "create or update a join channel" },
    { "channel list", "BRAND", 1, 1, NULL, "list the brand's channels" },
    { NULL }
};
static const qyctl_option_t s_rules_load_opts [] = {
    { "file", QYCTL_VALUE, "TSV", "rules from this file (default: the shipped set and flood 10/60)" },
    { NULL }
};
static const qyctl_option_t s_rules_set_opts [] = {
    { "dry-run", QYCTL_FLAG, NULL, "the rule records what it would do and does nothing" },
    { NULL }
};
const qyctl_command_t qyctl_rules_commands [] = {
    { "rules load", "BRAND", 1, 1, s_rules_load_opts, "load a rule set (checked whole before any is stored)" },
    { "rules list", "BRAND", 1, 1, NULL, "list the brand's rules" },
    { "rules set", "BRAND NAME KIND CATEGORY WEIGHT PATTERN", 6, 6, s_rules_set_opts, "set one rule" },
    { NULL }
};
static const qyctl_option_t s_demo_opts [] = {
    { "brand",       QYCTL_VALUE, "CODE", "the demo brand's code (default demo)" },
    { "force",       QYCTL_FLAG,  NULL,   "add the demo's stores and groups to an existing brand" },
    { "stores",      QYCTL_VALUE, "N",    "stores (default 20, at most 10,000)" },
    { "groups",      QYCTL_VALUE, "N",    "groups per store (default 3)" },
    { "gateway-url", QYCTL_VALUE, "URL",  "where notifier delivers the demo's messages" },
    { NULL }
};
const qyctl_command_t qyctl_demo_commands [] = {
    { "demo load", "", 0, 0, s_demo_opts, "create the demo brand: regions, stores, groups, channels, rules" },
    { NULL }
};
