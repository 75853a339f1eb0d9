//  qyctl campaign: playbooks (SOPs) written at HQ.
#include "qyctl.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qyctl_campaign (int argc, char **argv)
{
    const char *sub = qyctl_arg (argc, argv, 0), *brand = qyctl_arg (argc, argv, 1);
    if (sub && brand && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT name, trigger, enabled, template FROM campaigns WHERE brand_id = $1 ORDER BY id", brand, argc, argv);
        return 0;
    }
    const char *tmpl = qyctl_arg (argc, argv, 2);
    if (!sub || strcmp (sub, "welcome") != 0 || !brand || !tmpl)
        qyctl_die ("usage: qyctl %s", "campaign welcome BRAND TEMPLATE | campaign list BRAND");
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) id);
    const char *p [] = { bid, tmpl };
    PQclear (qyctl_exec ("INSERT INTO campaigns (brand_id, name, trigger, template) VALUES ($1, 'welcome', 'join', $2) "
                         "ON CONFLICT (brand_id, name) DO UPDATE SET template = EXCLUDED.template, enabled = true", 2, p));
    qyctl_audit (id, "campaign.welcome", "campaign", "welcome");
    printf ("welcome template set\n");
    return 0;
}

