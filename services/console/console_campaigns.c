//  Campaigns (SOP playbooks, docs/campaign.md) from the console: a
//  definition uploaded, checked whole and applied with the code `qyctl
//  campaign apply [--dry-run]` runs (campaign_file.c), and a campaign
//  paused or resumed as `qyctl campaign disable|enable` does.
#include "console_int.h"
#include "campaign_file.h"
#include "qy/campaign_report.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  The brand and groups the document names must be the user's: false
//  (and a 400) otherwise.
static bool s_names_ok (console_req_t *r, const char *bid, const campaign_file_t *f)
{
    PGresult *res = console_sql (r, "SELECT code FROM brands WHERE id = $1::bigint", 1, (const char *[]) { bid });
    if (!res)
        return false;
    bool ok = PQntuples (res) == 1 && strcmp (PQgetvalue (res, 0, 0), f->brand) == 0;
    if (!ok)
        console_error (r, 400, "brand: \"%s\" is not the brand this console user works in (%s)", f->brand,
                       PQntuples (res) ? PQgetvalue (res, 0, 0) : "?");
    PQclear (res);
    const char *key;
    json_t *v;
    json_object_foreach (f->group_guards, key, v) {
        if (!ok)
            break;
        res = console_sql (r, "SELECT 1 FROM groups WHERE brand_id = $1::bigint AND code = $2", 2, (const char *[]) { bid, key });
        if (!res)
            return false;
        if (!(ok = PQntuples (res) == 1))
            console_error (r, 400, "group_guards.%s: no such group", key);
        PQclear (res);
    }
    return ok;
}

//  The body (the definition document) checked whole, its brand and groups
//  the user's; false when not (replied). b gets the brand id.
static bool s_check (console_req_t *r, campaign_file_t *f, char b [24])
{
    char err [400];
    if (!r->json) {
        console_error (r, 400, "send the definition: {\"brand\", \"guards\", \"group_guards\", \"campaigns\": […]}");
        return false;
    }
    if (campaign_file_check (r->json, f, err, sizeof (err))) {
        console_error (r, 400, "%s", err);
        return false;
    }
    const char *bid = console_brand (r);
    if (bid)
        qy_strlcpy (b, bid, 24);
    if (bid && s_names_ok (r, b, f))
        return true;
    campaign_file_free (f);
    return false;
}

//  Nothing is written.
void console_api_campaign_validate (console_req_t *r)
{
    campaign_file_t f;
    char b [24];
    if (!s_check (r, &f, b))
        return;
    qy_buf_t out;
    qy_buf_init (&out);
    qy_buf_puts (&out, "{\"ok\":true,\"written\":false,\"campaigns\":[");
    for (size_t i = 0; i < f.n; i++) {
        qy_buf_puts (&out, i ? ",{\"name\":" : "{\"name\":");
        qy_buf_json_str (&out, f.defs [i]->name);
        qy_buf_printf (&out, ",\"trigger\":\"%s\",\"steps\":%zu,\"enabled\":%s}", campaign_trigger_name (f.defs [i]->trigger.kind),
                       f.defs [i]->nsteps, f.defs [i]->enabled ? "true" : "false");
    }
    qy_buf_puts (&out, "]}");
    char detail [64];
    qy_snprintf (detail, sizeof (detail), "{\"campaigns\":%zu}", f.n);
    if (console_audit (r, b, "campaign.validate", "campaign", NULL, detail))
        console_reply (r, 200, out.data);
    qy_buf_free (&out);
    campaign_file_free (&f);
}

typedef struct {
    console_req_t *r;
    const char    *bid;
    qy_buf_t       out;
    bool           ok;
} s_apply_t;

//  Audited as qyctl audits them: campaign.guards with the settings.
static void s_applied_guards (void *ctx, const char *scope, const char *settings)
{
    s_apply_t *a = ctx;
    char *detail = qy_printf ("{\"settings\":%s}", settings);
    a->ok = a->ok && console_audit (a->r, a->bid, "campaign.guards", "campaign_guards", scope, detail);
    free (detail);
}

static void s_applied (void *ctx, const campaign_def_t *def, bool created, const char *version, bool replanned)
{
    s_apply_t *a = ctx;
    qy_buf_puts (&a->out, a->out.data [a->out.len - 1] == '[' ? "{\"campaign\":" : ",{\"campaign\":");
    qy_buf_json_str (&a->out, def->name);
    qy_buf_printf (&a->out, ",\"created\":%s,\"version\":%s,\"trigger\":\"%s\",\"steps\":%zu,\"replanned\":%s}",
                   created ? "true" : "false", version, campaign_trigger_name (def->trigger.kind), def->nsteps,
                   replanned ? "true" : "false");
    a->ok = a->ok && console_audit (a->r, a->bid, "campaign.apply", "campaign", def->name, NULL);
}

//  Written as `qyctl campaign apply` writes it (campaign_file_apply), in
//  the request's transaction. Re-planning steps not yet sent must be
//  asked for (?replan=yes), as qyctl asks on a terminal.
void console_api_campaign_apply (console_req_t *r)
{
    campaign_file_t f;
    char b [24], err [400];
    if (!s_check (r, &f, b))
        return;
    const char *replan = console_arg (r, "replan");
    long pending = campaign_file_pending (r->pg, b, &f, err, sizeof (err));
    s_apply_t a = { r, b, { 0 }, true };
    qy_buf_init (&a.out);
    qy_buf_puts (&a.out, "{\"campaigns\":[");
    campaign_apply_cb_t cb = { s_applied_guards, s_applied, &a };
    if (pending < 0)
        console_error (r, 500, "%s", err);
    else
    if (pending > 0 && !(replan && strcmp (replan, "yes") == 0))
        console_error (r, 409, "these campaigns have %ld planned step%s not yet sent, which applying re-plans: send ?replan=yes",
                       pending, pending == 1 ? "" : "s");
    else
    if (campaign_file_apply (r->pg, b, &f, &cb, err, sizeof (err)))
        console_error (r, 500, "%s", err);
    else
    if (a.ok) {
        qy_buf_puts (&a.out, "]}");
        console_reply (r, 200, a.out.data);
    }
    qy_buf_free (&a.out);
    campaign_file_free (&f);
}

//  Pause or resume: the campaign's enabled flag, audited with qyctl's
//  action names (campaign.disable, campaign.enable).
static void s_enable (console_req_t *r, bool on)
{
    const char *p [] = { r->seg [1], on ? "t" : "f" };
    PGresult *res = console_sql (r, "UPDATE campaigns SET enabled = $2::boolean, updated_at = now () WHERE name = $1 "
                                 "RETURNING brand_id", 2, p);
    if (!res)
        return;
    if (PQntuples (res) == 0)
        console_error (r, 404, "no such campaign");
    else
    if (PQntuples (res) > 1)
        console_error (r, 400, "campaign %s exists in several brands: name one with ?brand=", r->seg [1]);
    else {
        qy_buf_t out;
        qy_buf_init (&out);
        qy_buf_puts (&out, "{\"name\":");
        qy_buf_json_str (&out, r->seg [1]);
        qy_buf_printf (&out, ",\"enabled\":%s}", on ? "true" : "false");
        if (console_audit (r, console_brand_of (r, PQgetvalue (res, 0, 0)), on ? "campaign.enable" : "campaign.disable",
                           "campaign", r->seg [1], NULL))
            console_reply (r, 200, out.data);
        qy_buf_free (&out);
    }
    PQclear (res);
}

void console_api_campaign_pause (console_req_t *r)
{
    s_enable (r, false);
}

void console_api_campaign_resume (console_req_t *r)
{
    s_enable (r, true);
}

//  Measurement per step and variant (replies within an hour of a post,
//  conversions), steps blocked by guard, and SOP compliance per store:
//  `qyctl campaign report`'s figures (the same SQL, qy/campaign_report.h)
//  for the jobs due in the last days= days (30), on the user's scope.
void console_api_campaign_report (console_req_t *r)
{
    char d [24], since [40];
    if (!console_days_arg (r, 30, 400, d))
        return;
    const char *bid = console_brand (r);
    if (!bid)
        return;
    time_t t = time (NULL) - (time_t) atol (d) * 86400;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (since, sizeof (since), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *p [] = { bid, since, "now" };
    console_sql_json (r, "campaign report",
        "SELECT json_build_object ("
        " 'steps', (SELECT coalesce (json_agg (x), '[]') FROM (" QY_CAMPAIGN_STEPS_SQL ") x), "
        " 'blocked', (SELECT coalesce (json_agg (x), '[]') FROM (" QY_CAMPAIGN_BLOCKED_SQL ") x), "
        " 'stores', (SELECT coalesce (json_agg (x), '[]') FROM (" QY_CAMPAIGN_SOP_SQL ") x))", 3, p);
}
