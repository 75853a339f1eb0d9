//  The moderation service's work on one batch of events, with its I/O:
//  brand rules, the judgement, the behaviour counts in one Redis pipeline
//  of plain commands (one call per brand on a Redis Cluster), the batch's
//  violations in one transaction (moderation_record.c), actions to
//  notifier, the verdict passed on to scoring. main.c only reads the
//  config, opens the sockets and runs the loop.
#include "moderation.h"
#include "moderation_batch.h"
#include "moderation_item.h"
#include "moderation_behaviour.h"
#include "moderation_complaint.h"
#include "moderation_marks.h"
#include "qy/deadletter.h"
#include "qy/event.h"
#include "qy/kind.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static qy_metric_t *m_in, *m_viol, *m_actions, *m_latency, *m_muted, *m_blocked_join, *m_dry, *m_behaviour;
static qy_metric_t *m_batches, *m_arrival, *m_round_trips;
typedef enum { S_JUDGE, S_REDIS, S_PRIOR, S_RECORD, S_PEOPLE, S_ACT, S_SEEN, S_NPHASES } s_phase_t;
static qy_metric_t *m_phase [S_NPHASES];
static long s_ctx_alert_negative = 5;
static bool s_ctx_alert_waves = true;

void moderation_batch_metrics (void)
{
    m_in = qy_counter ("qy_moderation_events_total", "events judged and passed on");
    m_viol = qy_counter ("qy_moderation_violations_total", "violations recorded (review or worse)");
    m_actions = qy_counter ("qy_moderation_actions_total", "actions sent to notifier");
    m_muted = qy_counter ("qy_moderation_muted_messages_total", "messages recalled because the sender is muted");
    m_blocked_join = qy_counter ("qy_moderation_blocked_joins_total", "blocked members removed on join");
    m_dry = qy_counter ("qy_moderation_dry_run_total", "verdicts where dry-run rules would have done more");
    m_behaviour = qy_counter ("qy_moderation_behaviour_hits_total", "behaviour hits (repeat, spam wave, newcomer, quiet hours)");
    m_latency = qy_histogram ("qy_ingest_to_verdict_seconds", "from ingest acceptance to verdict");
    m_batches = qy_counter ("qy_moderation_batches_total", "batches run (events judged divided by this: the mean batch)");
    m_arrival = qy_histogram ("qy_moderation_arrival_seconds",
                              "from ingest acceptance to the start of the batch that judges the event (ingest's "
                              "commit, the bus hop and the wait for the batch before)");
    m_round_trips = qy_counter ("qy_moderation_pg_round_trips_total",
                                "PostgreSQL round trips of the batches (a pipeline of statements is one)");
    static const char *names [S_NPHASES] = { "judge", "redis", "prior", "record", "people", "act", "seen" };
    for (int i = 0; i < S_NPHASES; i++) {
        char name [96];
        qy_snprintf (name, sizeof (name), "qy_moderation_batch_seconds_total{phase=\"%s\"}", names [i]);
        m_phase [i] = qy_counter_us (name, "time spent in each phase of a batch: judging, the behaviour counts' round "
                                        "trip, replays' prior decisions, recording violations, enforcements and "
                                        "questions, reports and nicknames, acting and passing on, marking the batch "
                                        "finished");
    }
}

//  An action or a pass-on of the item being finished could not be sent
//  (stopping, past the grace): the event is set aside, and replaying it
//  repeats what was decided (everything is idempotent by key).
static bool s_lost;

static void s_action (void *out, const Qy__Event *ev, Qy__Action action, const char *suffix,
                      const char *text, int64_t until_us, const char *reason)
{
    char key [256];
    qy_snprintf (key, sizeof (key), "mod:%lld:%s:%s", (long long) ev->brand_id, ev->msg_id, suffix);
    Qy__Delivery d;
    qy_event_delivery (&d, ev, key, "action", QY__PRIORITY__P_ACTION, "moderation");
    d.action = action;
    d.member = ev->member;
    d.target_msg_id = action == QY__ACTION__RECALL ? ev->msg_id : "";
    d.until_us = until_us;
    d.text = (char *) (text ? text : "");
    d.reason = (char *) (reason ? reason : "");
    if (qy_service_send (out, &d.base) == 0)
        qy_metric_add (m_actions, 1);
    else
        s_lost = true;
}

//  An operator alert, delivered by notifier to the store's robot (group
//  set) or to HQ's (brand-wide, group NULL). The key makes it once only.
static void s_alert (void *out, const Qy__Event *ev, const char *key, bool brand_wide, const char *text,
                     const char *reason)
{
    Qy__Delivery d;
    qy_event_delivery (&d, ev, key, "alert", QY__PRIORITY__P_ALERT, "moderation");
    if (brand_wide) {
        d.group_id = 0;
        d.group = "";
    }
    d.text = (char *) text;
    d.reason = (char *) reason;
    if (qy_service_send (out, &d.base) == 0)
        qy_metric_add (m_actions, 1);
    else
        s_lost = true;
}

void moderation_alert_event (void *out, const Qy__Event *ev, const char *key, bool brand_wide, const char *text,
                       const char *reason)
{
    s_alert (out, ev, key, brand_wide, text, reason);
}

//  Alerts a new violation may raise: a cross-group spam wave (to HQ, once
//  per content and window), and a surge of abuse in one group (to its store,
//  once per group and hour, when the count reaches the threshold).
static void s_alerts (qy_redis_t *redis, void *actions, moderation_item_t *it)
{
    Qy__Event *ev = it->ev;
    char key [160], *text;
    for (size_t h = 0; s_ctx_alert_waves && h < it->judged.nhits; h++) {
        if (strcmp (it->judged.hits [h].rule, "behaviour.spam_wave") != 0 || it->judged.hits [h].dry_run)
            continue;
        long window = it->pol->wave_window_s > 0 ? it->pol->wave_window_s : 600;
        qy_snprintf (key, sizeof (key), "alert:wave:%lld:%016llx:%lld", (long long) ev->brand_id,
                     (unsigned long long) it->hash, (long long) (ev->event_time_us / 1000000 / window));
        char *excerpt = qy_utf8_prefix (ev->text ? ev->text : "", 120);
        text = qy_printf ("疑似群发广告：同一内容在多个群出现（群 %s，成员 %s），已自动撤回并处罚。内容：%s",
                          ev->group, ev->member, excerpt);
        free (excerpt);
        s_alert (actions, ev, key, true, text, "spam_wave");
        free (text);
        break;
    }
    if (s_ctx_alert_negative <= 0 || strcmp (it->category, "abuse") != 0)
        return;
    long long hour = (long long) (ev->event_time_us / 3600000000LL);
    char counter [128];
    qy_snprintf (counter, sizeof (counter), "neg:{b:%lld}:%lld:%lld", (long long) ev->brand_id, (long long) ev->group_id, hour);
    long long n = moderation_window_incr (redis, counter, 7200);
    if (n != s_ctx_alert_negative)
        return;
    qy_snprintf (key, sizeof (key), "alert:negative:%lld:%lld:%lld", (long long) ev->brand_id, (long long) ev->group_id, hour);
    text = qy_printf ("群 %s 一小时内出现 %lld 条辱骂或负面言论，请店员关注群内情绪。", ev->group, n);
    s_alert (actions, ev, key, false, text, "negative_surge");
    free (text);
}

//  A muted member's message: recall it, and tell the member once per mute.
static void s_muted (void *actions, moderation_item_t *it, Qy__Verdict *v)
{
    Qy__Event *ev = it->ev;
    int64_t until = it->mute_until_us;
    v->action = QY__ACTION__RECALL;
    v->category = "mute";
    v->mute_until_us = until;
    s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, "muted");
    //  One notice per mute, in whichever group the member writes first: the
    //  key names the mute (member and its end, in µs), not the group.
    char key [256];
    qy_snprintf (key, sizeof (key), "mute-notice:%lld:%lld:%lld", (long long) ev->brand_id,
                 (long long) ev->member_id, (long long) until);
    char *notice = moderation_mute_reminder (ev->nickname, until, it->brand->tz_offset_min);
    Qy__Delivery d;
    qy_event_delivery (&d, ev, key, "action", QY__PRIORITY__P_ACTION, "moderation");
    d.action = QY__ACTION__WARN;
    d.member = ev->member;
    d.text = notice;
    d.reason = "muted";
    d.until_us = until;
    if (qy_service_send (actions, &d.base) != 0)
        s_lost = true;
    free (notice);
    qy_metric_add (m_muted, 1);
}

bool moderation_pg_wait (qy_pg_t *pg, qy_wait_t *wait)
{
    return qy_service_wait (wait, QY_DEP_PG, qy_pg_ok (pg));
}

//  Apply a recorded violation: Redis state, actions to notifier, verdict.
static void s_apply (qy_pg_t *pg, qy_redis_t *redis, void *actions, moderation_item_t *it, Qy__Verdict *v)
{
    Qy__Event *ev = it->ev;
    moderation_record_t *rec = &it->rec;
    qy_metric_add (m_viol, 1);
    v->category = (char *) it->category;
    v->violation_id = rec->violation_id;
    v->action = rec->penalty.action;
    v->mute_until_us = rec->mute_until_us;
    if (rec->would_action != QY__ACTION__ACTION_NONE) {
        v->would_action = rec->would_action;
        qy_metric_add (m_dry, 1);
    }
    qy_log_info ("member judged msg_id=%s brand=%s member=%s action=%s penalty=%s category=%s score=%.2f strike=%d "
                 "violation=%lld replay=%d",
                 ev->msg_id, ev->brand, ev->member, protobuf_c_enum_descriptor_get_value (&qy__action__descriptor, v->action)->name,
                 judge_action_name (it->level), it->category, it->total, rec->strike, (long long) rec->violation_id,
                 rec->existed ? 1 : 0);
    if (rec->penalty.action == QY__ACTION__REVIEW || rec->penalty.action == QY__ACTION__ALLOW)
        return;
    if (!rec->existed)
        s_alerts (redis, actions, it);
    if (it->notice) {
        char *text = qy_printf ("@%s 请按群规修改群昵称，格式：%s", ev->nickname && *ev->nickname ? ev->nickname : "新成员",
                                it->pol->nickname);
        s_action (actions, ev, QY__ACTION__WARN, "nickname", text, 0, "format");
        free (text);
        return;
    }
    char bkey [64], mkey [64], mid [24];
    qy_snprintf (bkey, sizeof (bkey), "block:{b:%lld}", (long long) ev->brand_id);
    qy_snprintf (mkey, sizeof (mkey), "mute:{b:%lld}:%lld", (long long) ev->brand_id, (long long) ev->member_id);
    qy_snprintf (mid, sizeof (mid), "%lld", (long long) ev->member_id);
    if (rec->penalty.recall)
        s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, it->category);
    char *notice = moderation_notice (&rec->penalty, ev->nickname, it->category, rec->strike, rec->mute_until_us,
                                      it->brand->tz_offset_min);
    if (rec->penalty.action == QY__ACTION__WARN)
        s_action (actions, ev, QY__ACTION__WARN, "warn", notice, 0, it->category);
    else
    if (rec->penalty.action == QY__ACTION__MUTE) {
        int64_t ms = (rec->mute_until_us - qy_now_us ()) / 1000;
        if (ms > 0) {
            char until [24], px [24];
            qy_snprintf (until, sizeof (until), "%lld", (long long) rec->mute_until_us);
            qy_snprintf (px, sizeof (px), "%lld", (long long) ms);
            redisReply *r = moderation_mute_lengthen (redis, mkey, until, px);
            if (r)
                freeReplyObject (r);
        }
        s_action (actions, ev, QY__ACTION__MUTE, "mute", notice, rec->mute_until_us, it->category);
    }
    else
    if (rec->penalty.action == QY__ACTION__BLOCK) {
        redisReply *r = qy_redis_cmd (redis, "SADD %s %s", bkey, mid);
        if (r)
            freeReplyObject (r);
        s_action (actions, ev, QY__ACTION__REMOVE, "remove", notice, 0, it->category);
        //  The block is recorded; its removals must go out now (nothing retries this message).
        qy_wait_t wait = { 0 };
        while (!moderation_remove_everywhere (pg, actions, ev->brand_id, ev->member_id, ev->group_id) && moderation_pg_wait (pg, &wait))
            ;
    }
    free (notice);
}

//  Where a batch's time goes, phase by phase (µs, as a counter).
static void s_phase (s_phase_t phase, int64_t *since)
{
    int64_t now = qy_mono_us ();
    qy_metric_add (m_phase [phase], now - *since);
    *since = now;
}

//  Judge an item's content (chat only, staff exempt by policy): hits,
//  content hash for repeats and waves, a waiting ping, a report.
static void s_judge_content (moderation_item_t *it, bool staff)
{
    Qy__Event *ev = it->ev;
    const moderation_policy_t *pol = it->pol;
    if (qy_event_is_chat (ev->kind) && !(staff && pol->exempt_staff)) {
        judge_input_t in = { ev->text ? ev->text : "", (size_t) -1, qy_kind_name (ev->kind), qy_role_name (ev->role),
                             pol->exempt_staff, ev->at_all };
        it->judged_ok = judge_eval (it->brand->judge, &in, &it->judged) == 0;
        //  Staff repeat announcements across groups: never a wave.
        it->has_content = it->judged_ok && !staff
                       && moderation_content_hash (it->judged.normalized, it->judged.normalized_len, pol->min_chars, &it->hash);
        //  A customer asking whether anyone is there is waiting, not flooding.
        it->waiting = it->judged_ok && moderation_waiting_ping (it->judged.normalized, it->judged.normalized_len);
        if (it->judged_ok && moderation_report_detect (ev, it->judged.normalized, it->judged.normalized_len, &it->report))
            moderation_report_strip (&it->judged, ev->text);
        //  The normalized text pointer is only valid until the next call.
        it->judged.normalized = NULL;
        if (!it->judged_ok) {
            memset (&it->judged, 0, sizeof (it->judged));
            it->judged.top = QY_CAT__COUNT;
        }
    }
    if (ev->kind == QY__KIND__REPORT) {
        size_t len;
        const char *norm = judge_normalize (it->brand->judge, ev->text ? ev->text : "", ev->text ? strlen (ev->text) : 0, &len);
        moderation_report_detect (ev, norm, len, &it->report);
    }
}

//  The behaviour counting's calls of a batch: one for the batch on a
//  single Redis, one per brand (its keys' hash tag, so its slot) on a Redis
//  Cluster; a call's events in batch order, so a group's are counted in
//  message order. Each call is plain commands (moderation_counting_plan),
//  then its events' reads; all calls go in one pipeline.
typedef struct {
    moderation_check_args_t *args;      //  per item
    size_t *order, *start, ncalls;
    size_t  appended;                   //  calls in the pipeline
    moderation_counting_t *counting;    //  per call
    moderation_reads_t *reads;          //  per call: its events' plain reads, after it
} s_checks_t;

//  Phase 1: brand rules (waiting for PostgreSQL if needed), judgement, the
//  behaviour counting's keys and values. Every item gets its brand and policy:
//  the later phases decide every item of the batch. False when stopping.
static bool s_judge (const moderation_ctx_t *ctx, moderation_item_t *items, size_t n, s_checks_t *ch)
{
    for (size_t i = 0; i < n; i++) {
        moderation_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        qy_wait_t wait = { 0 };
        while (!(it->brand = moderation_store_brand (ctx->store, ev->brand_id)))
            if (!moderation_pg_wait (ctx->pg, &wait))
                return false;
        while (!(it->pol = moderation_store_policy (ctx->store, it->brand, ev->group_id)))
            if (!moderation_pg_wait (ctx->pg, &wait))
                return false;
        //  The brand's own robot is exempt as staff are.
        bool staff = qy_role_is_brand (ev->role);
        it->judged.top = QY_CAT__COUNT;
        s_judge_content (it, staff);
        it->count = !(staff && it->pol->exempt_staff) && ev->member_id;
        moderation_check_in_t in = { ev, it->count && !it->waiting, it->has_content, it->hash };
        moderation_check_args (&ch->args [i], it->pol, &in);
    }
    return true;
}

//  Append the counting's calls, each followed by its events' plain reads
//  (moderation_reads_plan). Replies are read in order.
static void s_append_checks (qy_redis_t *redis, size_t n, s_checks_t *ch)
{
    const char **tags = qy_calloc (n + 1, sizeof (*tags));
    bool cluster = qy_redis_is_cluster (redis);
    for (size_t i = 0; i < n; i++)
        tags [i] = cluster ? ch->args [i].args [MODERATION_ARG_BLOCK] : "";    //  block:{b:B}: one per brand
    ch->ncalls = qy_group_by_key (tags, n, ch->order, ch->start);
    free (tags);
    ch->counting = qy_calloc (ch->ncalls + 1, sizeof (*ch->counting));
    ch->reads = qy_calloc (ch->ncalls + 1, sizeof (*ch->reads));
    for (ch->appended = 0; ch->appended < ch->ncalls; ch->appended++) {
        size_t first = ch->start [ch->appended], ne = ch->start [ch->appended + 1] - first;
        //  The plans borrow their events' arguments (freed with the call).
        const moderation_check_args_t **own = qy_calloc (ne + 1, sizeof (*own));
        for (size_t j = 0; j < ne; j++)
            own [j] = &ch->args [ch->order [first + j]];
        moderation_counting_plan (&ch->counting [ch->appended], own, ne);
        moderation_reads_plan (&ch->reads [ch->appended], own, ne);
        //  Once an append fails, the replies of what was appended are
        //  still owed: that call is read (its counts failing), no later one.
        bool cut = moderation_counting_append (redis, &ch->counting [ch->appended]) != 0
                || moderation_reads_append (redis, &ch->reads [ch->appended]) != 0;
        if (cut) {
            ch->appended++;
            break;
        }
    }
}

//  One item's counts and reads from its call's replies; false when
//  something it needs did not come back.
static bool s_take (moderation_item_t *it, const moderation_counting_t *cn, const moderation_reads_t *rd, size_t j,
                    const char **read_err)
{
    bool ok = true;
    if (moderation_reads_take (rd, j, &it->mute_until_us, &it->blocked, &it->seen) != 0) {
        if (*read_err)          //  one line per call: the first event it cost its reads
            qy_log_warn ("msg_id=%s brand=%s behaviour reads failed (mute, block, finished) error=%s",
                         it->ev->msg_id, it->ev->brand, *read_err);
        *read_err = NULL;
        ok = false;
    }
    if (!cn->ok [j]) {
        qy_log_warn ("msg_id=%s brand=%s behaviour counts failed error=%s", it->ev->msg_id, it->ev->brand,
                     cn->error ? cn->error : "no reply");
        return false;
    }
    it->counts = cn->counts [j];
    if (it->counts.repeat || it->counts.wave_members)
        qy_log_debug ("repeats counted msg_id=%s brand=%s repeat=%ld wave_groups=%ld wave_members=%ld",
                      it->ev->msg_id, it->ev->brand, it->counts.repeat, it->counts.wave_groups,
                      it->counts.wave_members);
    return ok;
}

//  Phase 2: the replies, in order, counted; then the join waves the batch
//  started are raised. If Redis is away the batch is judged on content
//  alone (logged, and /health says so).
static void s_replies (qy_redis_t *redis, moderation_item_t *items, const s_checks_t *ch)
{
    bool redis_ok = ch->appended == ch->ncalls;
    for (size_t c = 0; c < ch->appended; c++) {
        moderation_counting_t *cn = &ch->counting [c];
        if (moderation_counting_get (redis, cn) != 0)
            redis_ok = false;
        if (moderation_reads_get (redis, &ch->reads [c]) != 0)
            redis_ok = false;
        const char *read_err = moderation_reads_error (&ch->reads [c]);
        size_t first = ch->start [c], ne = ch->start [c + 1] - first;
        for (size_t j = 0; j < ne; j++)
            redis_ok &= s_take (&items [ch->order [first + j]], cn, &ch->reads [c], j, &read_err);
    }
    for (size_t c = 0; c < ch->appended; c++)
        if (moderation_counting_raise (redis, &ch->counting [c]) != 0)
            redis_ok = false;
    qy_service_set_dep (QY_DEP_REDIS, redis_ok && qy_redis_ok (redis));
}

//  A replayed message repeats what was decided about it; one never
//  decided meets the mute or block that held when it happened, not
//  today's. Either way replaying what was processed changes nothing.
//  False when stopping.
static bool s_priors (moderation_store_t *store, qy_pg_t *pg, moderation_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        moderation_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        it->prior = false;
        it->enforce = NULL;
        if (!ev->replay && !it->seen)
            continue;
        moderation_prior_t prior;
        int found;
        qy_wait_t wait = { 0 };
        while ((found = moderation_store_prior (store, ev->brand_id, ev->msg_id, &prior)) < 0
               || (!found && !it->seen && (it->blocked || it->mute_until_us)
                   && moderation_store_state_at (store, ev->brand_id, ev->member_id, ev->event_time_us,
                                                 &it->mute_until_us, &it->blocked) != 0))
            if (!moderation_pg_wait (pg, &wait))
                return false;
        if (found) {
            it->prior = true;
            it->rec = prior.rec;
            qy_strlcpy (it->prior_category, prior.category, sizeof (it->prior_category));
            it->category = it->prior_category;
            it->blocked = strcmp (prior.category, "blocked") == 0;
            it->mute_until_us = strcmp (prior.category, "mute") == 0 ? prior.rec.mute_until_us : 0;
            it->notice = strcmp (prior.category, "format") == 0;
        }
        else
        if (it->seen) {
            //  Finished before, and allowed: allowed again, whatever changed since.
            it->blocked = false;
            it->mute_until_us = 0;
        }
    }
    return true;
}

//  A blocked member's join or message: removed (and the message recalled).
static void s_blocked (void *actions, Qy__Event *ev, Qy__Verdict *v)
{
    v->action = QY__ACTION__REMOVE;
    v->category = "blocked";
    if (ev->kind == QY__KIND__JOIN) {
        s_action (actions, ev, QY__ACTION__REMOVE, "remove", "", 0, "blocked");
        qy_metric_add (m_blocked_join, 1);
        qy_log_info ("msg_id=%s brand=%s member=%s blocked member joined, removing", ev->msg_id, ev->brand, ev->member);
        return;
    }
    //  The gateway has not removed a blocked member yet: recall, and remove from this group once.
    s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, "blocked");
    char *saved = ev->msg_id;
    char once [160];      //  once an hour while they still talk (the removal may have failed)
    qy_snprintf (once, sizeof (once), "blocked-%lld-%lld-%lld", (long long) ev->group_id, (long long) ev->member_id,
                 (long long) (ev->event_time_us / 3600000000LL));
    ev->msg_id = once;
    s_action (actions, ev, QY__ACTION__REMOVE, "remove", "", 0, "blocked");
    ev->msg_id = saved;
}

//  An item neither blocked nor muted: its hits in the verdict, its
//  violation applied, a complaint escalated. hits and hp hold the verdict's hits.
static void s_judged (const moderation_ctx_t *ctx, moderation_item_t *it, Qy__Verdict *v, Qy__Hit *hits, Qy__Hit **hp)
{
    Qy__Event *ev = it->ev;
    v->score = it->total;
    for (size_t h = 0; h < it->judged.nhits; h++) {
        qy__hit__init (&hits [h]);
        hits [h].rule = (char *) it->judged.hits [h].rule;
        hits [h].category = (char *) judge_category_name (it->judged.hits [h].category);
        hits [h].weight = it->judged.hits [h].weight;
        hits [h].dry_run = it->judged.hits [h].dry_run;
        hits [h].span_start = (uint32_t) it->judged.hits [h].start;
        hits [h].span_end = (uint32_t) it->judged.hits [h].end;
        hp [h] = &hits [h];
        v->n_hits++;
    }
    v->hits = hp;
    if (it->prior || it->level != JUDGE_ALLOW || it->would != JUDGE_ALLOW)
        s_apply (ctx->pg, ctx->redis, ctx->actions, it, v);
    //  A member's complaint: no penalty (the judge keeps it out of the
    //  total), an alert to the store, counted for complaint_surge.
    const char *topic = ev->role <= QY__ROLE__MEMBER && !it->prior && !it->seen && !ev->replay
                      ? moderation_complaint_topic (&it->judged, &it->pol->thresholds) : NULL;
    if (topic) {
        moderation_complaint_escalate (ctx->pg, ctx->redis, ctx->actions, ev, topic, ctx->complaints_store,
                                       ctx->complaints_brand);
        if (!*v->category)
            v->category = "complaint";
    }
    for (size_t h = 0; h < it->judged.nhits; h++)
        if (strncmp (it->judged.hits [h].rule, "behaviour.", 10) == 0)
            qy_metric_add (m_behaviour, 1);
}

//  Pass the event on to scoring with its verdict and moderation's stamp.
static void s_pass_on (void *out, moderation_item_t *it, Qy__Verdict *v)
{
    Qy__Event *ev = it->ev;
    int64_t now = qy_now_us ();
    if (ev->ingest_time_us)
        qy_metric_observe (m_latency, now - ev->ingest_time_us);
    ev->verdict = v;
    Qy__Stamp stamp = QY__STAMP__INIT, *sp = &stamp;
    stamp.stage = "moderation";
    stamp.at_us = now;
    Qy__Stamp **old = ev->trace;
    size_t nold = ev->n_trace;
    Qy__Stamp **tr = qy_calloc (nold + 1, sizeof (Qy__Stamp *));
    if (nold)
        memcpy (tr, old, nold * sizeof (Qy__Stamp *));
    tr [nold] = sp;
    ev->trace = tr;
    ev->n_trace = nold + 1;
    it->sent = qy_service_send (out, &ev->base) == 0 && !s_lost;
    ev->trace = old;
    ev->n_trace = nold;
    ev->verdict = NULL;
    free (tr);
    qy_metric_add (m_in, 1);
}

//  Phase 5: act and pass on, in arrival order.
static void s_act (const moderation_ctx_t *ctx, moderation_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        moderation_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        s_lost = false;
        Qy__Verdict v = QY__VERDICT__INIT;
        v.action = QY__ACTION__ALLOW;
        v.category = "";
        Qy__Hit hits [JUDGE_MAX_HITS], *hp [JUDGE_MAX_HITS];
        if (it->blocked && (ev->kind == QY__KIND__JOIN || qy_event_is_chat (ev->kind)))
            s_blocked (ctx->actions, ev, &v);
        else
        if (qy_event_is_chat (ev->kind) && (it->prior || it->held ? it->mute_until_us != 0 : it->mute_until_us > qy_now_us ()))
            s_muted (ctx->actions, it, &v);
        else
            s_judged (ctx, it, &v, hits, hp);
        s_pass_on (ctx->out, it, &v);
    }
}

//  One batch, phase by phase (each phase's time in m_phase).
static void s_batch (const moderation_ctx_t *ctx, moderation_item_t *items, size_t n, moderation_marks_t *marks)
{
    int64_t t = qy_mono_us (), now = qy_now_us (), trips = qy_pg_round_trips (ctx->pg);
    qy_metric_add (m_batches, 1);
    for (size_t i = 0; i < n; i++)
        if (items [i].ev->ingest_time_us)
            qy_metric_observe (m_arrival, now - items [i].ev->ingest_time_us);
    s_ctx_alert_negative = ctx->alert_negative;
    s_ctx_alert_waves = ctx->alert_waves;
    s_checks_t ch = { .args = qy_malloc (n * sizeof (moderation_check_args_t)),
                      .order = qy_calloc (n + 1, sizeof (size_t)), .start = qy_calloc (n + 1, sizeof (size_t)) };
    bool judged = s_judge (ctx, items, n, &ch);
    if (judged) {
        int queued = moderation_marks_append (ctx->redis, marks);     //  the last batch's, ahead of the reads
        s_append_checks (ctx->redis, n, &ch);
        s_phase (S_JUDGE, &t);
        moderation_marks_done (ctx->redis, marks, queued);
        s_replies (ctx->redis, items, &ch);
        s_phase (S_REDIS, &t);
    }
    for (size_t c = 0; ch.reads && c < ch.ncalls; c++) {
        free ((void *) ch.counting [c].args);
        moderation_counting_free (&ch.counting [c]);
        moderation_reads_free (&ch.reads [c]);
    }
    free (ch.counting);
    free (ch.reads);
    free (ch.args);
    free (ch.order);
    free (ch.start);
    if (!judged)
        return;
    if (!s_priors (ctx->store, ctx->pg, items, n))
        return;
    s_phase (S_PRIOR, &t);
    //  Decide; the batch's violations and, in the same transaction, what
    //  is enforced under a mute or block are recorded; then what the batch
    //  owes the people in it.
    moderation_item_t **pending = qy_calloc (n, sizeof (moderation_item_t *));
    size_t npending = moderation_record_pending (items, n, pending);
    int stopped = moderation_record_store (ctx->store, ctx->pg, items, n, pending, npending);
    free (pending);
    if (stopped)
        return;
    s_phase (S_RECORD, &t);
    if (!moderation_record_people (ctx, items, n))
        return;
    s_phase (S_PEOPLE, &t);
    s_act (ctx, items, n);
    s_phase (S_ACT, &t);
    qy_metric_add (m_round_trips, qy_pg_round_trips (ctx->pg) - trips);
    Qy__Event **evs = qy_calloc (n, sizeof (Qy__Event *));
    for (size_t i = 0; i < n; i++)
        evs [i] = items [i].ev;
    moderation_marks_add (marks, evs, n);
    free (evs);
    s_phase (S_SEEN, &t);
}

struct moderation_batch_t {
    moderation_item_t *items;
    size_t    n, max;
    moderation_marks_t marks;     //  finished marks not yet sent
};

moderation_batch_t *moderation_batch_new (size_t max)
{
    moderation_batch_t *self = qy_calloc (1, sizeof (*self));
    self->items = qy_calloc (max ? max : 1, sizeof (moderation_item_t));
    self->max = max ? max : 1;
    return self;
}

void moderation_batch_destroy (moderation_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    moderation_batch_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        qy__event__free_unpacked (self->items [i].ev, NULL);
    moderation_marks_free (&self->marks);
    free (self->items);
    free (self);
    *self_p = NULL;
}

bool moderation_batch_full (const moderation_batch_t *self)
{
    return self->n >= self->max;
}

void moderation_batch_add (moderation_batch_t *self, Qy__Event *ev)
{
    memset (&self->items [self->n], 0, sizeof (moderation_item_t));
    self->items [self->n++].ev = ev;
}

void moderation_batch_run (moderation_batch_t *self, const moderation_ctx_t *ctx)
{
    for (size_t i = 0; i < self->n; i++)
        self->items [i].sent = false;
    if (self->n)
        s_batch (ctx, self->items, self->n, &self->marks);
    for (size_t i = 0; i < self->n; i++) {
        //  Not finished (stopping past the grace, PostgreSQL or a hop away):
        //  set aside, for qyctl deadletters replay.
        if (!self->items [i].sent)
            qy_deadletter_event (ctx->pg, self->items [i].ev, self->items [i].ev->brand_id, "moderation",
                                 "not finished: stopping grace over (PostgreSQL, Redis or the next hop away)");
        qy__event__free_unpacked (self->items [i].ev, NULL);
    }
    self->n = 0;
}

void moderation_batch_flush (moderation_batch_t *self, qy_redis_t *redis)
{
    if (!self->marks.ncmds)
        return;
    int64_t t = qy_mono_us ();
    moderation_marks_done (redis, &self->marks, moderation_marks_append (redis, &self->marks));
    s_phase (S_SEEN, &t);
}
