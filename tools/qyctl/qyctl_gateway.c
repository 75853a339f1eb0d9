//  qyctl gateway: where a brand's outbound messages and actions are delivered.
#include "qyctl.h"
#include "qy/util.h"
#include <stdio.h>
#include <string.h>

int qyctl_gateway (int argc, char **argv)
{
    const char *sub = qyctl_arg (argc, argv, 0), *brand = qyctl_arg (argc, argv, 1), *url = qyctl_arg (argc, argv, 2);
    if (!sub || strcmp (sub, "set") != 0 || !brand || !url)
        qyctl_die ("usage: qyctl gateway set BRAND URL [--token T]");
    if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0)
        qyctl_die ("gateway URL must start with http:// or https://");
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) id);
    const char *p [] = { bid, url, qyctl_opt (argc, argv, "--token", NULL) };
    PQclear (qyctl_exec ("UPDATE brands SET gateway_url = $2, gateway_token = coalesce ($3, gateway_token) WHERE id = $1", 3, p));
    qyctl_audit (id, "gateway.set", "brand", brand);
    printf ("gateway of %s: %s\n", brand, url);
    return 0;
}
