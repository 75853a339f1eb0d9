//  qyctl campaign: playbooks (SOPs) written at HQ. `apply` checks a whole
//  definition file with the service's own parser (campaign_lib) before a
//  single row changes, then writes it in one transaction.
#include "qyctl.h"
#include "qy/campaign_report.h"
#include "qy/pg.h"
#include "campaign.h"
#include "campaign_file.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_bid (int64_t id)
{
    static char buf [24];
    qy_pg_i64 (buf, id);
    return buf;
}

static int s_welcome (const char *brand, const char *tmpl)
{
    int64_t id = qyctl_brand_id (brand);
    const char *p [] = { s_bid (id), tmpl };
    PQclear (qyctl_exec ("INSERT INTO campaigns (brand_id, name, trigger, template) VALUES ($1, 'welcome', 'join', $2) "
                         "ON CONFLICT (brand_id, name) DO UPDATE SET template = EXCLUDED.template, enabled = true, "
                         "updated_at = now ()", 2, p));
    qyctl_audit (id, "campaign.welcome", "campaign", "welcome");
    qyctl_ack ((const char *[]) { "campaign", "welcome", "set", "true", NULL }, "welcome template set");
    return 0;
}

static int64_t s_group_id (int64_t brand_id, const char *code)
{
    const char *p [] = { s_bid (brand_id), code };
    PGresult *res = qyctl_exec ("SELECT id FROM groups WHERE brand_id = $1 AND code = $2", 2, p);
    int64_t id = PQntuples (res) ? strtoll (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    if (!id)
        qyctl_die ("group_guards: unknown group '%s'", code);
    return id;
}

//  Guards change what every campaign may send: audited like the campaigns.
static void s_audit_guards (int64_t bid, const char *scope, const char *settings)
{
    char *detail = qy_printf ("{\"settings\":%s}", settings);
    qyctl_audit_detail (bid, "campaign.guards", "campaign_guards", scope, detail);
    free (detail);
}

//  Applying over planned steps not yet sent re-plans them (see s_apply):
//  asked for, as any change to what is about to go out.
static void s_confirm_replan (int64_t bid, const campaign_file_t *f)
{
    char err [400];
    long pending = campaign_file_pending (qyctl_pg (), s_bid (bid), f, err, sizeof (err));
    if (pending < 0)
        qyctl_die ("%s", err);
    if (pending) {
        char what [160];
        qy_snprintf (what, sizeof (what), "campaign apply changes campaigns with %ld planned step%s not yet sent", pending,
                     pending == 1 ? "" : "s");
        qyctl_confirm (what);
    }
}

static void s_applied_guards (void *ctx, const char *scope, const char *settings)
{
    s_audit_guards (*(int64_t *) ctx, scope, settings);
}

static void s_applied (void *ctx, const campaign_def_t *def, bool created, const char *version, bool replanned)
{
    char steps [16];
    qy_snprintf (steps, sizeof (steps), "%zu", def->nsteps);
    qyctl_item ((const char *[]) { "campaign", def->name, "created", created ? "true" : "false",
                                   "version", version, "trigger", campaign_trigger_name (def->trigger.kind),
                                   "steps", steps, "replanned", replanned ? "true" : "false", NULL },
                "campaign %s %s (version %s, trigger %s, %s step%s%s)", def->name, created ? "created" : "updated",
                version, campaign_trigger_name (def->trigger.kind), steps, def->nsteps == 1 ? "" : "s",
                replanned ? ", pending planned steps re-planned" : "");
    qyctl_audit (*(int64_t *) ctx, "campaign.apply", "campaign", def->name);
}

static int s_apply (const char *file, bool dry_run)
{
    json_error_t jerr;
    json_t *root = json_load_file (file, 0, &jerr);
    if (!root)
        qyctl_die ("%s:%d: %s", file, jerr.line, jerr.text);
    //  The whole document first, with the service's parsers (campaign_file.c,
    //  shared with the console), then the brand and groups it names.
    char err [400];
    campaign_file_t f;
    if (campaign_file_check (root, &f, err, sizeof (err)))
        qyctl_die ("%s: %s", file, err);
    int64_t bid = qyctl_brand_id (f.brand);
    json_t *v;
    const char *key;
    json_object_foreach (f.group_guards, key, v)
        s_group_id (bid, key);
    size_t n = f.n;
    if (dry_run) {
        char nc [16];
        qy_snprintf (nc, sizeof (nc), "%zu", n);
        qyctl_ack ((const char *[]) { "file", file, "ok", "true", "campaigns", nc, "written", "false", NULL },
                   "%s: ok, %s campaign%s (nothing written)", file, nc, n == 1 ? "" : "s");
        goto done;
    }
    s_confirm_replan (bid, &f);
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    campaign_apply_cb_t cb = { s_applied_guards, s_applied, &bid };
    if (campaign_file_apply (qyctl_pg (), s_bid (bid), &f, &cb, err, sizeof (err)))
        qyctl_die ("%s", err);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    qyctl_items_end ("campaigns", (const char *[]) { "file", file, NULL });
done:
    campaign_file_free (&f);
    json_decref (root);
    return 0;
}

//  Member id of a gateway user id in a brand.
static const char *s_member (int64_t bid, const char *user)
{
    static char buf [24];
    const char *p [] = { s_bid (bid), user };
    PGresult *res = qyctl_exec ("SELECT id FROM members WHERE brand_id = $1 AND user_id = $2", 2, p);
    if (!PQntuples (res))
        qyctl_die ("unknown member '%s'", user);
    qy_snprintf (buf, sizeof (buf), "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return buf;
}

//  Re-run every recorded draw from its seed and eligible list.
static int s_verify_draws (int64_t bid)
{
    const char *p [] = { s_bid (bid) };
    PGresult *res = qyctl_exec ("SELECT job_id, seed::text, eligible::text, winners::text FROM campaign_draws "
                                "WHERE brand_id = $1 ORDER BY job_id", 1, p);
    int bad = 0;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t ids [4096], want [512], got [512];
        size_t n = 0, nw = 0;
        for (char *s = PQgetvalue (res, r, 2); *s && n < QY_ARRAY_LEN (ids); s++)
            if (*s >= '0' && *s <= '9')
                ids [n++] = strtoll (s, &s, 10), s--;
        for (char *s = PQgetvalue (res, r, 3); *s && nw < QY_ARRAY_LEN (want); s++)
            if (*s >= '0' && *s <= '9')
                want [nw++] = strtoll (s, &s, 10), s--;
        size_t k = campaign_draw (ids, n, strtoull (PQgetvalue (res, r, 1), NULL, 10), nw, got);
        bool same = k == nw && memcmp (got, want, sizeof (int64_t) * k) == 0;
        char ne [24], nwin [24];
        qy_snprintf (ne, sizeof (ne), "%zu", n);
        qy_snprintf (nwin, sizeof (nwin), "%zu", nw);
        qyctl_item ((const char *[]) { "job", PQgetvalue (res, r, 0), "seed", PQgetvalue (res, r, 1), "eligible", ne,
                                       "winners", nwin, "verified", same ? "true" : "false", NULL },
                    "draw job %s: seed %s, %s eligible, %s winners: %s", PQgetvalue (res, r, 0), PQgetvalue (res, r, 1),
                    ne, nwin, same ? "verified" : "MISMATCH");
        bad += !same;
    }
    PQclear (res);
    char nb [16];
    qy_snprintf (nb, sizeof (nb), "%d", bad);
    qyctl_items_end ("draws", (const char *[]) { "mismatches", nb, NULL });
    return bad ? 1 : 0;
}

//  A time as PostgreSQL reads it, except that a bare date (YYYY-MM-DD) is
//  midnight at the brand's offset, not the session's. Caller owns it.
static char *s_brand_time (int64_t bid, const char *value)
{
    const char *p [] = { s_bid (bid), value };
    PGresult *res = qyctl_exec (
        "SELECT CASE WHEN $2 ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' "
        "  THEN ($2::date - make_interval (mins => qy_tz_offset_min (b.tz_name, b.tz_offset_min, $2::date))) AT TIME ZONE 'UTC' "
        "  ELSE $2::timestamptz END FROM brands b WHERE b.id = $1", 2, p);
    char *t = qy_strdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    return t;
}

//  A part of campaign report: in JSON a section of one object; otherwise
//  its title line, then the rows (the CSV keeps the title lines).
static void s_part (const char *title, PGresult *res)
{
    static int parts;
    const char *format = qyctl_opt ("format", "table");
    if (strcmp (format, "json") == 0) {
        qyctl_section (title, res, format);
        return;
    }
    printf ("%s%s\n", parts++ ? "\n" : "", title);
    qyctl_print (res, format);
}

//  campaign jobs BRAND [--status S] [--limit N]
static void s_jobs (int64_t bid)
{
    const char *p [] = { s_bid (bid), qyctl_opt ("status", NULL), qyctl_opt ("limit", "100") };
    PGresult *res = qyctl_exec (
        "SELECT c.name AS campaign, j.step, j.variant, g.code AS grp, j.period, j.due_at, j.status, coalesce (j.guard, '') AS guard, "
        "  j.sent_at, j.delivery_key AS key FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id "
        "JOIN groups g ON g.id = j.group_id WHERE j.brand_id = $1 AND ($2::text IS NULL OR j.status = $2) "
        "ORDER BY j.due_at, j.id LIMIT $3::int", 3, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
}

//  campaign report BRAND: jobs due in [--since, --until) (default:
//  everything due until now); a bare date is the start of that day at the
//  brand's offset.
static void s_report (int64_t bid)
{
    char *since = s_brand_time (bid, qyctl_opt ("since", "-infinity"));
    char *until = s_brand_time (bid, qyctl_opt ("until", "now"));
    const char *p [] = { s_bid (bid), since, until };
    PGresult *res = qyctl_exec (QY_CAMPAIGN_STEPS_SQL, 3, p);
    s_part ("per step and variant", res);
    PQclear (res);
    res = qyctl_exec (QY_CAMPAIGN_BLOCKED_SQL, 3, p);
    s_part ("blocked steps by guard", res);
    PQclear (res);
    res = qyctl_exec (QY_CAMPAIGN_SOP_SQL, 3, p);
    s_part ("SOP compliance per store", res);
    PQclear (res);
    qyctl_tasks_compliance (p, qyctl_opt ("format", "table"));
    qyctl_sections_end (qyctl_opt ("format", "table"));
    free (since);
    free (until);
}

//  campaign enable|disable BRAND NAME
static void s_enable (int64_t bid, const char *sub, const char *a2)
{
    const char *p [] = { s_bid (bid), a2, sub [0] == 'e' ? "t" : "f" };
    PGresult *res = qyctl_exec ("UPDATE campaigns SET enabled = $3, updated_at = now () WHERE brand_id = $1 AND name = $2", 3, p);
    if (atoi (PQcmdTuples (res)) == 0)
        qyctl_die ("unknown campaign '%s'", a2);
    PQclear (res);
    qyctl_audit (bid, sub [0] == 'e' ? "campaign.enable" : "campaign.disable", "campaign", a2);
    qyctl_ack ((const char *[]) { "campaign", a2, "enabled", sub [0] == 'e' ? "true" : "false", NULL }, "campaign %s %sd", a2, sub);
}

//  campaign optout|optin BRAND MEMBER
static void s_optout (int64_t bid, const char *sub, const char *a2)
{
    const char *p [] = { s_bid (bid), s_member (bid, a2) };
    PQclear (qyctl_exec (strcmp (sub, "optout") == 0
        ? "INSERT INTO campaign_optouts (brand_id, member_id, source) VALUES ($1, $2, 'operator') ON CONFLICT DO NOTHING"
        : "DELETE FROM campaign_optouts WHERE brand_id = $1 AND member_id = $2", 2, p));
    qyctl_audit (bid, strcmp (sub, "optout") == 0 ? "campaign.optout" : "campaign.optin", "member", a2);
    qyctl_ack ((const char *[]) { "member", a2, "opted_out", strcmp (sub, "optout") == 0 ? "true" : "false", NULL }, "%s %s", a2,
               strcmp (sub, "optout") == 0 ? "opted out" : "opted in");
}

//  campaign tag|untag BRAND MEMBER TAG
static void s_tag (int64_t bid, const char *sub, const char *a2, const char *a3)
{
    const char *p [] = { s_bid (bid), s_member (bid, a2), a3 };
    PQclear (qyctl_exec (strcmp (sub, "tag") == 0
        ? "INSERT INTO member_tags (brand_id, member_id, tag) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        : "DELETE FROM member_tags WHERE brand_id = $1 AND member_id = $2 AND tag = $3", 3, p));
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{\"tag\":");
    qy_buf_json_str (&d, a3);
    qy_buf_puts (&d, "}");
    qyctl_audit_detail (bid, strcmp (sub, "tag") == 0 ? "campaign.tag" : "campaign.untag", "member", a2, d.data);
    qy_buf_free (&d);
    qyctl_ack ((const char *[]) { "member", a2, "tag", a3, "tagged", strcmp (sub, "tag") == 0 ? "true" : "false", NULL }, "%s %s %s", a2,
               strcmp (sub, "tag") == 0 ? "tagged" : "untagged", a3);
}

//  campaign checkins|entries BRAND NAME
static void s_takers (int64_t bid, const char *sub, const char *a2)
{
    const char *p [] = { s_bid (bid), a2 };
    PGresult *res = qyctl_exec (strcmp (sub, "checkins") == 0
        ? "SELECT g.code AS grp, m.user_id, count (*) AS days, sum (x.points) AS points, max (x.streak) AS best_streak, "
          "  max (x.day) AS last_day FROM campaign_checkins x JOIN campaigns c ON c.id = x.campaign_id "
          "JOIN groups g ON g.id = x.group_id JOIN members m ON m.id = x.member_id "
          "WHERE x.brand_id = $1 AND c.name = $2 GROUP BY 1, 2 ORDER BY 1, 4 DESC, 2"
        : "SELECT g.code AS grp, m.user_id, x.msg_id, x.kind, coalesce (x.text, '') AS text, coalesce (x.url, '') AS url, x.at "
          "FROM campaign_entries x JOIN campaigns c ON c.id = x.campaign_id JOIN groups g ON g.id = x.group_id "
          "JOIN members m ON m.id = x.member_id WHERE x.brand_id = $1 AND c.name = $2 ORDER BY x.at, x.msg_id", 2, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
}

int qyctl_campaign (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0), *a1 = qyctl_arg (1), *a2 = qyctl_arg (2);
    const char *a3 = qyctl_arg (3);
    if (!sub || !a1)
        qyctl_usage_error ("these arguments do not go together");
    if (strcmp (sub, "apply") == 0)
        return s_apply (a1, qyctl_flag ("dry-run"));
    if (strcmp (sub, "welcome") == 0 && a2)
        return s_welcome (a1, a2);
    if (strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT name, trigger, enabled, version, date_trunc ('second', updated_at) AS updated, template FROM campaigns "
                    "WHERE brand_id = $1 ORDER BY id", a1);
        return 0;
    }
    int64_t bid = qyctl_brand_id (a1);
    if (strcmp (sub, "jobs") == 0)
        s_jobs (bid);
    else if (strcmp (sub, "report") == 0)
        s_report (bid);
    else if ((strcmp (sub, "enable") == 0 || strcmp (sub, "disable") == 0) && a2)
        s_enable (bid, sub, a2);
    else if ((strcmp (sub, "optout") == 0 || strcmp (sub, "optin") == 0) && a2)
        s_optout (bid, sub, a2);
    else if ((strcmp (sub, "tag") == 0 || strcmp (sub, "untag") == 0) && a2 && a3)
        s_tag (bid, sub, a2, a3);
    else if ((strcmp (sub, "checkins") == 0 || strcmp (sub, "entries") == 0) && a2)
        s_takers (bid, sub, a2);
    else if (strcmp (sub, "draws") == 0 && qyctl_flag ("verify"))
        return s_verify_draws (bid);
    else if (strcmp (sub, "draws") == 0)
        qyctl_list ("SELECT c.name AS campaign, g.code AS grp, x.job_id, x.seed, cardinality (x.eligible) AS eligible, "
                    "  (SELECT string_agg (m.user_id, ',' ORDER BY array_position (x.winners, m.id)) FROM members m "
                    "   WHERE m.brand_id = x.brand_id AND m.id = ANY (x.winners)) AS winners, x.drawn_at "
                    "FROM campaign_draws x JOIN campaigns c ON c.id = x.campaign_id JOIN groups g ON g.id = x.group_id "
                    "WHERE x.brand_id = $1 ORDER BY x.job_id", a1);
    else
        qyctl_usage_error ("these arguments do not go together");
    return 0;
}

static const qyctl_option_t s_apply_opts [] = {
    { "dry-run", QYCTL_FLAG, NULL, "check the file whole; write nothing" },
    { NULL }
};
static const char *const s_job_states [] = { "pending", "sent", "blocked", "expired", "cancelled", NULL };
static const qyctl_option_t s_jobs_opts [] = {
    { "status", QYCTL_VALUE, "S", "only jobs in that state", s_job_states },
    { "limit",  QYCTL_VALUE, "N", "rows to show (default 100)" },
    { NULL }
};
static const qyctl_option_t s_report_opts [] = {
    { "since", QYCTL_VALUE, "T", "jobs due from T (a bare date: the brand's midnight)" },
    { "until", QYCTL_VALUE, "T", "jobs due before T (default now)" },
    { NULL }
};
static const qyctl_option_t s_draws_opts [] = {
    { "verify", QYCTL_FLAG, NULL, "re-run every draw from its seed and say whether it matches" },
    { NULL }
};
const qyctl_command_t qyctl_campaign_commands [] = {
    { "campaign apply", "FILE", 1, 1, s_apply_opts,
      "check a definition file with the service's parser, then write it (re-plans pending steps)", QYCTL_CONFIRM },
    { "campaign list", "BRAND", 1, 1, NULL, "the brand's campaigns" },
    { "campaign jobs", "BRAND", 1, 1, s_jobs_opts, "planned and done steps" },
    { "campaign report", "BRAND", 1, 1, s_report_opts, "per step and variant, blocked steps, SOP compliance per store" },
    { "campaign enable", "BRAND NAME", 2, 2, NULL, "enable a campaign" },
    { "campaign disable", "BRAND NAME", 2, 2, NULL, "disable a campaign" },
    { "campaign optout", "BRAND USER", 2, 2, NULL, "the member gets no campaign messages" },
    { "campaign optin", "BRAND USER", 2, 2, NULL, "undo optout" },
    { "campaign tag", "BRAND USER TAG", 3, 3, NULL, "tag a member" },
    { "campaign untag", "BRAND USER TAG", 3, 3, NULL, "remove a member's tag" },
    { "campaign checkins", "BRAND NAME", 2, 2, NULL, "a check-in campaign's check-ins" },
    { "campaign entries", "BRAND NAME", 2, 2, NULL, "a contest's entries" },
    { "campaign draws", "BRAND", 1, 1, s_draws_opts, "the brand's lucky draws" },
    { "campaign welcome", "BRAND TEMPLATE", 2, 2, NULL, "set the welcome message" },
    { NULL }
};
