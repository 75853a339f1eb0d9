//  What a batch owes the people in it besides judgement: members' reports
//  into the review queue, impersonating nicknames flagged and alerted,
//  customers' questions and staff answers recorded. Run by the batch after
//  its violations are recorded and before anything moves on; each step is
//  idempotent by message id and retried while PostgreSQL is away.
#include "moderation.h"
#include "qy/event.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  PostgreSQL failed: wait a little, unless stopping. False when stopping.
static bool s_wait (qy_pg_t *pg, qy_wait_t *wait)
{
    return qy_service_wait (wait, QY_DEP_PG, qy_pg_ok (pg));
}

//  A member joining or renaming to a nickname that claims a staff title or
//  the brand: flagged, and the group's owner alerted (through the store's
//  robot). False when stopping.
static bool s_impersonator (qy_pg_t *pg, void *actions, const moderation_person_t *p)
{
    const Qy__Event *ev = p->ev;
    if ((ev->kind != QY__KIND__JOIN && ev->kind != QY__KIND__RENAME) || !p->judge || !ev->member_id || !ev->nickname
        || !*ev->nickname || !qy_role_is_member (ev->role))
        return true;
    char claim [128];
    int found;
    qy_wait_t wait = { 0 };
    while ((found = moderation_impersonation_flag (pg, p->judge, ev, claim, sizeof (claim))) < 0)
        if (!s_wait (pg, &wait))
            return false;
    if (!found)
        return true;
    char key [192];
    qy_snprintf (key, sizeof (key), "alert:impersonation:%lld:%s", (long long) ev->brand_id, ev->msg_id);
    char *text = qy_printf ("群 %s 的成员 %s %s昵称为「%s」，疑似冒充「%s」。请群主核实，并提醒群成员谨防受骗。", ev->group,
                            ev->member, ev->kind == QY__KIND__RENAME ? "改" : "入群时", ev->nickname, claim);
    moderation_alert_t a = { key, ev->brand, ev->brand_id, ev->group, ev->group_id, text, "impersonation", ev->msg_id,
                             ev->member };
    int rc = moderation_alert (actions, &a);
    free (text);
    return rc == 0;
}

bool moderation_people_run (qy_pg_t *pg, void *actions, const moderation_person_t *people, size_t n)
{
    const Qy__Event **evs = qy_calloc (n + 1, sizeof (Qy__Event *));
    bool *asks = qy_calloc (n + 1, sizeof (bool));
    size_t k = 0;
    bool ok = true;
    qy_wait_t wait = { 0 };
    for (size_t i = 0; ok && i < n; i++) {
        const moderation_person_t *p = &people [i];
        if (p->skip)
            continue;
        while (ok && p->report && p->report->is_report && moderation_report_record (pg, p->ev, p->report) != 0)
            ok = s_wait (pg, &wait);
        ok = ok && s_impersonator (pg, actions, p);
        evs [k] = p->ev;
        asks [k++] = moderation_question (p->ev, p->waiting);
    }
    while (ok && moderation_questions_note (pg, evs, asks, k) != 0)
        ok = s_wait (pg, &wait);
    free (evs);
    free (asks);
    return ok;
}
