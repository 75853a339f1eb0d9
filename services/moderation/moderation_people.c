//  What a batch owes the people in it besides judgement: members' reports
//  into the review queue, impersonating nicknames flagged and alerted,
//  customers' questions and staff answers recorded (planned here, written
//  in the violations' transaction). The rest runs after that transaction
//  and before anything moves on; each step is idempotent by message id and
//  retried while PostgreSQL is away.
#include "moderation.h"
#include "qy/event.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  Does the event name a member (not staff) by a nickname that may claim something?
static bool s_names_member (const moderation_person_t *p)
{
    const Qy__Event *ev = p->ev;
    return (ev->kind == QY__KIND__JOIN || ev->kind == QY__KIND__RENAME) && p->judge && ev->member_id && ev->nickname
        && *ev->nickname && qy_role_is_member (ev->role);
}

//  Members joining or renaming to a nickname that claims a staff title or
//  the brand: flagged, and the group's owner alerted (through the store's
//  robot). The batch's nicknames are checked in one round trip. False
//  when stopping.
static bool s_impersonators (qy_pg_t *pg, void *actions, moderation_names_t *names, const moderation_person_t *people,
                             size_t n)
{
    moderation_claim_t *c = qy_calloc (n + 1, sizeof (moderation_claim_t));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!people [i].skip && s_names_member (&people [i]))
            c [k++] = (moderation_claim_t) { .ev = people [i].ev, .judge = people [i].judge };
    bool ok = true;
    qy_wait_t wait = { 0 };
    while (ok && moderation_impersonation_check (pg, names, c, k) != 0)
        ok = moderation_pg_wait (pg, &wait);
    for (size_t i = 0; ok && i < k; i++) {
        if (!c [i].found)
            continue;
        while (ok && moderation_impersonation_flag (pg, &c [i]) != 0)
            ok = moderation_pg_wait (pg, &wait);
        const Qy__Event *ev = c [i].ev;
        char key [192];
        qy_snprintf (key, sizeof (key), "alert:impersonation:%lld:%s", (long long) ev->brand_id, ev->msg_id);
        char *text = qy_printf ("群 %s 的成员 %s %s昵称为「%s」，疑似冒充「%s」。请群主核实，并提醒群成员谨防受骗。", ev->group,
                                ev->member, ev->kind == QY__KIND__RENAME ? "改" : "入群时", ev->nickname, c [i].claim);
        moderation_alert_t a = { key, ev->brand, ev->brand_id, ev->group, ev->group_id, text, "impersonation", ev->msg_id,
                                 ev->member };
        ok = ok && moderation_alert (actions, &a) == 0;
        free (text);
    }
    free (c);
    return ok;
}

void moderation_people_questions (const moderation_person_t *people, size_t n, qy_pg_steps_t *st)
{
    const Qy__Event **evs = qy_calloc (n + 1, sizeof (Qy__Event *));
    bool *asks = qy_calloc (n + 1, sizeof (bool));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!people [i].skip) {
            evs [k] = people [i].ev;
            asks [k++] = moderation_question (people [i].ev, people [i].waiting);
        }
    moderation_questions_plan (evs, asks, k, st);
    free (evs);
    free (asks);
}

bool moderation_people_run (qy_pg_t *pg, void *actions, moderation_names_t *names, const moderation_person_t *people,
                            size_t n)
{
    bool ok = true;
    qy_wait_t wait = { 0 };
    for (size_t i = 0; ok && i < n; i++) {
        const moderation_person_t *p = &people [i];
        if (p->skip)
            continue;
        while (ok && p->report && p->report->is_report && moderation_report_record (pg, p->ev, p->report) != 0)
            ok = moderation_pg_wait (pg, &wait);
        if (!qy_role_is_member (p->ev->role))
            moderation_names_seen (names, p->ev->brand_id, p->ev->nickname);
    }
    return ok && s_impersonators (pg, actions, names, people, n);
}
