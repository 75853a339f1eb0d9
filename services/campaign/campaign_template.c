#include "campaign.h"
#include "qy/event.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

char *campaign_render (const char *tmpl, const campaign_vars_t *vars, char *err, size_t errlen)
{
    qy_buf_t out;
    qy_buf_init (&out);
    for (const char *p = tmpl; *p; ) {
        if (p [0] == '{' && p [1] == '{') {
            qy_buf_puts (&out, "{");
            p += 2;
            continue;
        }
        if (p [0] == '}' && p [1] == '}') {
            qy_buf_puts (&out, "}");
            p += 2;
            continue;
        }
        if (*p == '{') {
            const char *end = strchr (p, '}');
            if (!end) {
                qy_snprintf (err, errlen, "template: unclosed '{'");
                qy_buf_free (&out);
                return NULL;
            }
            size_t n = (size_t) (end - p - 1);
            const struct { const char *name; const char *value; } known [] = {
                { "nickname", vars->nickname }, { "group", vars->group }, { "store", vars->store },
                { "product", vars->product }, { "coupon", vars->coupon }, { "list", vars->list },
                { "count", vars->count },
            };
            size_t k = 0;
            while (k < sizeof (known) / sizeof (known [0])
                   && !(strlen (known [k].name) == n && strncmp (p + 1, known [k].name, n) == 0))
                k++;
            const char *value = k < sizeof (known) / sizeof (known [0]) ? known [k].value : NULL;
            if (k == sizeof (known) / sizeof (known [0])) {
                qy_snprintf (err, errlen, "template: unknown variable {%.*s}", (int) n, p + 1);
                qy_buf_free (&out);
                return NULL;
            }
            qy_buf_puts (&out, value ? value : "");
            p = end + 1;
            continue;
        }
        qy_buf_append (&out, p, 1);
        p++;
    }
    return out.data;
}

bool campaign_wants_welcome (const Qy__Event *ev)
{
    //  Staff joining their own store's group are not customers to welcome.
    if (ev->kind != QY__KIND__JOIN || !qy_role_is_member (ev->role))
        return false;
    if (ev->verdict && ev->verdict->action >= QY__ACTION__REMOVE)
        return false;
    return true;
}
