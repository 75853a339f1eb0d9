//  Deciding and recording a moderation batch: each new item's level from
//  its hits and its group's policy, then the batch's violations, what is
//  enforced under a mute or block, and customers' questions in one
//  transaction of two round trips, retried while PostgreSQL is away (no
//  event moves on before its verdict is durable); then what the batch owes
//  the people in it. moderation_batch.c runs the phases around these.
#include "moderation_item.h"
#include "qy/event.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  Level, total and category of an item that is neither muted nor blocked:
//  content hits, behaviour hits, the nickname format, then the group
//  policy's rule overrides and thresholds.
static void s_decide (moderation_item_t *it)
{
    const moderation_policy_t *pol = it->pol;
    Qy__Event *ev = it->ev;
    judge_result_t *r = &it->judged;
    if ((ev->kind == QY__KIND__JOIN || ev->kind == QY__KIND__RENAME) && it->count
        && moderation_nickname_bad (pol, ev->nickname) && r->nhits < JUDGE_MAX_HITS) {
        judge_hit_t *h = &r->hits [r->nhits++];
        memset (h, 0, sizeof (*h));
        h->rule = "format.nickname";
        h->category = QY_CAT_FORMAT;
        it->notice = true;
    }
    double would = qy_event_is_chat (ev->kind) && it->count
                 ? moderation_group_score (pol, &it->counts, ev->event_time_us, it->brand->tz_offset_min, r)
                 : moderation_score (pol, r);
    it->total = r->total;
    it->level = judge_decide (&pol->thresholds, it->total);
    it->would = judge_decide (&pol->thresholds, would);
    if (it->notice && it->level == JUDGE_ALLOW)
        it->level = JUDGE_REVIEW;       //  recorded, and the member reminded (no strike)
    it->category = r->top != QY_CAT__COUNT ? judge_category_name (r->top) : it->notice ? "format" : "none";
    if (r->top == QY_CAT__COUNT && !it->notice)
        for (size_t h = 0; h < r->nhits; h++)
            if (r->hits [h].dry_run) {
                it->category = judge_category_name (r->hits [h].category);
                break;
            }
}

static int s_cmp_member (const void *a, const void *b)
{
    const moderation_item_t *x = *(moderation_item_t *const *) a, *y = *(moderation_item_t *const *) b;
    if (x->ev->brand_id != y->ev->brand_id)
        return x->ev->brand_id < y->ev->brand_id ? -1 : 1;
    if (x->ev->member_id != y->ev->member_id)
        return x->ev->member_id < y->ev->member_id ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

//  (pure) A penalty decided earlier in the batch applies to what
//  follows; which items are enforced under a mute or block. Returns how many.
static size_t s_enforcements (moderation_item_t *items, size_t n)
{
    size_t nenforce = 0;
    for (size_t i = 0; i < n; i++) {
        moderation_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        if (it->prior || it->seen)
            continue;
        for (size_t j = 0; j < i; j++) {
            moderation_item_t *e = &items [j];
            if (e->ev->brand_id != ev->brand_id || e->ev->member_id != ev->member_id || e->superseded
                || (e->level == JUDGE_ALLOW && e->would == JUDGE_ALLOW))
                continue;
            if (e->rec.penalty.action == QY__ACTION__BLOCK)
                it->blocked = true;
            else
            if (e->rec.penalty.action == QY__ACTION__MUTE && !it->blocked)
                it->mute_until_us = e->rec.mute_until_us;
        }
        if (it->blocked && (ev->kind == QY__KIND__JOIN || qy_event_is_chat (ev->kind)))
            it->enforce = "blocked";
        else
        if (qy_event_is_chat (ev->kind) && (it->held ? it->mute_until_us != 0 : it->mute_until_us > qy_now_us ()))
            it->enforce = "mute";     //  a replayed message met the mute of its time, ended since or not
        nenforce += it->enforce != NULL;
    }
    return nenforce;
}

//  What recording changes in an item, to start again from after a failed attempt.
typedef struct {
    bool            blocked;
    int64_t         mute_until_us;
    judge_action_t  level, would;
} s_before_t;

//  The people of the batch (moderation_people.c): skipped when finished
//  before or blocked. Caller frees.
static moderation_person_t *s_persons (moderation_item_t *items, size_t n)
{
    moderation_person_t *people = qy_calloc (n + 1, sizeof (moderation_person_t));
    for (size_t i = 0; i < n; i++)
        people [i] = (moderation_person_t) { items [i].ev, items [i].brand ? items [i].brand->judge : NULL,
                                             &items [i].report, items [i].waiting, items [i].seen || items [i].blocked };
    return people;
}

//  The read's decisions into the pending items. One whose member another
//  replica already muted or blocked is enforced under that penalty, no new strike.
static void s_take_records (moderation_item_t **pending, size_t npending, const moderation_record_t *rec)
{
    for (size_t i = 0; i < npending; i++) {
        moderation_item_t *it = pending [i];
        it->rec = rec [i];
        it->superseded = rec [i].superseded;
        if (it->superseded || !(it->rec.held_blocked || it->rec.held_mute_until_us))
            continue;
        it->blocked = it->rec.held_blocked;
        it->mute_until_us = it->rec.held_mute_until_us;
        it->held = true;
        it->level = it->would = JUDGE_ALLOW;
    }
}

//  The batch's writes in one pipeline, one round trip: the new violations,
//  the enforcements, the customers' questions and staff answers (their
//  order does not matter: each is idempotent by (brand, msg_id)), and
//  COMMIT when moderation_store_read opened the transaction (txn);
//  without it they are one implicit transaction. Each new row's id into
//  rec. False when PostgreSQL failed (the caller rolls back and retries).
static bool s_write (qy_pg_t *pg, moderation_item_t *items, size_t n, const moderation_violation_t *viol,
                     moderation_record_t *rec, size_t npending, moderation_enforce_t *enforce, bool txn)
{
    qy_pg_steps_t st;
    qy_pg_steps_init (&st);
    bool inserts = moderation_store_insert_plan (viol, rec, npending, &st);      //  step 0 if any
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (items [i].enforce)
            enforce [ne++] = (moderation_enforce_t) { items [i].ev, items [i].enforce,
                                                      items [i].blocked ? QY__ACTION__REMOVE : QY__ACTION__RECALL,
                                                      items [i].blocked ? 0 : items [i].mute_until_us };
    moderation_store_enforce_plan (enforce, ne, &st);
    moderation_person_t *people = s_persons (items, n);
    moderation_people_questions (people, n, &st);
    free (people);
    if (txn)
        qy_pg_steps_add (&st, "violations commit", "COMMIT", NULL, false);
    bool ok = qy_pg_pipeline (pg, st.steps, st.n);
    if (ok)
        moderation_store_insert_take (viol, rec, npending, inserts ? st.steps [0].res : NULL);
    qy_pg_steps_free (&st);
    return ok;
}

//  Record the batch in one transaction, two round trips: its violations in
//  member order (pending) locked and read, decided, then written with the
//  enforcements they and the members' earlier state imply, the questions,
//  and COMMIT. Retried while PostgreSQL is away: no event moves on before
//  its verdict is durable. Returns 0, or -1 when stopping.
int moderation_record_store (moderation_store_t *store, qy_pg_t *pg, moderation_item_t *items, size_t n,
                             moderation_item_t **pending, size_t npending)
{
    qsort (pending, npending, sizeof (moderation_item_t *), s_cmp_member);
    moderation_violation_t *viol = qy_calloc (npending + 1, sizeof (moderation_violation_t));
    moderation_record_t *rec = qy_calloc (npending + 1, sizeof (moderation_record_t));
    for (size_t i = 0; i < npending; i++) {
        moderation_item_t *it = pending [i];
        viol [i] = (moderation_violation_t) { it->ev, &it->judged, it->category, it->total,
                                              it->level, it->would, it->notice, it->pol };
    }
    s_before_t *before = qy_calloc (n, sizeof (s_before_t));
    for (size_t i = 0; i < n; i++)
        before [i] = (s_before_t) { items [i].blocked, items [i].mute_until_us, items [i].level, items [i].would };
    moderation_enforce_t *enforce = qy_calloc (n + 1, sizeof (moderation_enforce_t));
    int rc = -1;
    qy_wait_t wait = { 0 };
    while (true) {
        for (size_t i = 0; i < n; i++) {
            moderation_item_t *it = &items [i];
            it->blocked = before [i].blocked;
            it->mute_until_us = before [i].mute_until_us;
            it->level = before [i].level;
            it->would = before [i].would;
            it->held = it->superseded = false;
            it->enforce = NULL;
        }
        bool txn = npending > 0;        //  without violations, the writes need no read first
        bool ok = !txn || moderation_store_read (store, viol, rec, npending) == 0;
        if (ok) {
            s_take_records (pending, npending, rec);
            s_enforcements (items, n);
            ok = s_write (pg, items, n, viol, rec, npending, enforce, txn);
        }
        if (ok) {
            for (size_t i = 0; i < npending; i++) {
                pending [i]->rec.violation_id = rec [i].violation_id;
                if (pending [i]->held)
                    qy_log_info ("msg_id=%s brand=%s member=%s already %s: enforced, no new strike", pending [i]->ev->msg_id,
                                 pending [i]->ev->brand, pending [i]->ev->member, pending [i]->blocked ? "blocked" : "muted");
            }
            rc = 0;
            break;
        }
        if (txn)
            moderation_store_rollback (store);
        if (!moderation_pg_wait (pg, &wait))
            break;
    }
    free (viol);
    free (rec);
    free (before);
    free (enforce);
    return rc;
}

//  Reports and impersonating nicknames: what the batch owes the people in
//  it besides the questions written with its violations
//  (moderation_people.c). False when stopping.
bool moderation_record_people (const moderation_ctx_t *ctx, moderation_item_t *items, size_t n)
{
    moderation_person_t *people = s_persons (items, n);
    bool ok = moderation_people_run (ctx->pg, ctx->actions, ctx->names, people, n);
    free (people);
    return ok;
}

//  Phase 3 (pure): decide each item that is new, neither muted nor
//  blocked; those with a violation go to pending. Returns how many.
size_t moderation_record_pending (moderation_item_t *items, size_t n, moderation_item_t **pending)
{
    size_t npending = 0;
    for (size_t i = 0; i < n; i++) {
        moderation_item_t *it = &items [i];
        it->idx = i;
        it->superseded = false;
        it->held = false;
        it->level = it->would = JUDGE_ALLOW;
        if (it->prior) {
            //  Repeat the recorded decision (level only names it in the log).
            it->level = it->rec.penalty.action == QY__ACTION__REVIEW ? JUDGE_REVIEW : JUDGE_RECALL;
            continue;
        }
        if (it->seen)
            continue;
        if (!it->blocked && !(qy_event_is_chat (it->ev->kind) && it->mute_until_us > qy_now_us ())) {
            s_decide (it);
            if (it->level != JUDGE_ALLOW || it->would != JUDGE_ALLOW)
                pending [npending++] = it;
        }
    }
    return npending;
}

