//  Campaigns (SOP playbooks, docs/campaign.md) from the console: a
//  definition uploaded and checked whole with the parsers `qyctl campaign
//  apply --dry-run` runs (campaign_file.c), and a campaign paused or
//  resumed as `qyctl campaign disable|enable` does.
#include "console_int.h"
#include "campaign_file.h"
#include <stdlib.h>
#include <string.h>

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

//  The body is the definition document itself; nothing is written.
void console_api_campaign_validate (console_req_t *r)
{
    char err [400];
    campaign_file_t f;
    if (!r->json) {
        console_error (r, 400, "send the definition: {\"brand\", \"guards\", \"group_guards\", \"campaigns\": […]}");
        return;
    }
    if (campaign_file_check (r->json, &f, err, sizeof (err))) {
        console_error (r, 400, "%s", err);
        return;
    }
    const char *bid = console_brand (r);
    char b [24];
    if (bid)
        qy_strlcpy (b, bid, sizeof (b));
    if (bid && s_names_ok (r, b, &f)) {
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
    }
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
