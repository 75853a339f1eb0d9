//  Behaviour: what Redis counts per event (plain commands pipelined, one
//  call per brand and batch on a Cluster, each followed by its events'
//  plain reads; the counting itself in C, moderation_behaviour_count.c) and
//  the hits it turns into. The commands are the only I/O here and are run
//  by moderation_batch.c; everything else is pure and unit-tested.
#include "moderation.h"
#include "moderation_behaviour.h"
#include "qy/event.h"
#include "qy/util.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *moderation_check_kind (Qy__Kind kind)
{
    return qy_event_is_chat (kind) ? "chat" : kind == QY__KIND__JOIN ? "join" : "other";
}

//  h as 16 lowercase hex digits, what "%016llx" writes.
static void s_hex16 (char out [static 17], uint64_t h)
{
    for (int i = 15; i >= 0; i--, h >>= 4)
        out [i] = "0123456789abcdef" [h & 15];
    out [16] = '\0';
}

//  The event's keys, joined from its numbers formatted once (about twenty
//  snprintf calls per event were a tenth of moderation's CPU).
static void s_check_keys (moderation_check_args_t *a, const Qy__Event *ev, uint64_t hash)
{
    char bs [24], gs [24], ms [24], ss [24], hex [17], tag [40], gm [64], gmh [96];
    qy_fmt_i64 (bs, ev->brand_id);
    qy_fmt_i64 (gs, ev->group_id);
    qy_fmt_i64 (ms, ev->member_id);
    s_hex16 (hex, hash);
    qy_cat (tag, sizeof (tag), "{b:", bs, "}:");                 //  "{b:B}:"
    qy_cat (gm, sizeof (gm), gs, ":", ms);
    qy_cat (gmh, sizeof (gmh), gm, ":", hex);
    qy_cat (a->buf [0], sizeof (a->buf [0]), "fl:", tag, gm);
    qy_cat (a->buf [1], sizeof (a->buf [1]), "mute:", tag, ms);
    qy_cat (a->buf [2], sizeof (a->buf [2]), "block:{b:", bs, "}");
    qy_cat (a->buf [3], sizeof (a->buf [3]), "rp:", tag, gmh);
    qy_cat (a->buf [4], sizeof (a->buf [4]), "sw:", tag, hex);
    qy_cat (a->buf [5], sizeof (a->buf [5]), "jn:", tag, gm);
    if (ev->store_id)
        qy_fmt_i64 (ss, ev->store_id);
    else
        qy_cat (ss, sizeof (ss), "g", gs, "");
    qy_cat (a->buf [6], sizeof (a->buf [6]), "jw:", tag, ss);
    qy_cat (a->buf [7], sizeof (a->buf [7]), "jwf:", a->buf [6] + 3, "");
    moderation_seen_key (a->buf [18], sizeof (a->buf [18]), ev->brand_id, ev->event_time_us);
    //  The wave's store tag: the part of the join-wave key after the brand.
    qy_strlcpy (a->buf [19], ss, sizeof (a->buf [19]));
    qy_cat (a->wave_me, sizeof (a->wave_me), gm, ":", ss);
}

void moderation_check_args (moderation_check_args_t *a, const moderation_policy_t *p, const moderation_check_in_t *in)
{
    const Qy__Event *ev = in->ev;
    int64_t event_time_us = ev->event_time_us;
    const char *kind = moderation_check_kind (ev->kind);
    bool count = in->count, has_content = in->has_content;
    s_check_keys (a, ev, (uint64_t) in->content_hash);
    bool chat = strcmp (kind, "chat") == 0;
    long flood = chat && count && p->flood_rule [0] ? (long) p->flood_window_s * 1000 : 0;
    long repeat = chat && count && has_content && p->repeat_max > 0 ? (long) p->repeat_window_s * 1000 : 0;
    long wave = chat && count && has_content && (p->wave_groups > 0 || p->wave_members > 0)
              ? (long) p->wave_window_s * 1000 : 0;
    int hours = p->newcomer_hours > p->join_wave_hours ? p->newcomer_hours : p->join_wave_hours;
    qy_fmt_i64 (a->buf [8], event_time_us / 1000);
    qy_fmt_i64 (a->buf [9], ev->member_id);
    qy_fmt_i64 (a->buf [10], ev->group_id);
    qy_fmt_i64 (a->buf [11], flood);
    qy_fmt_i64 (a->buf [12], repeat);
    qy_fmt_i64 (a->buf [13], wave);
    qy_fmt_i64 (a->buf [14], count ? (int64_t) hours * 3600 * 1000 : 0);
    qy_fmt_i64 (a->buf [15], p->join_wave_joins > 0 ? (int64_t) p->join_wave_window_s * 1000 : 0);
    qy_fmt_i64 (a->buf [16], p->join_wave_joins);
    qy_fmt_i64 (a->buf [17], (int64_t) p->join_wave_hold_s * 1000);
    a->t_ms = event_time_us / 1000;
    a->flood_ms = flood;
    a->repeat_ms = repeat;
    a->wave_ms = wave;
    a->life_ms = count ? (int64_t) hours * 3600 * 1000 : 0;
    a->jw_ms = p->join_wave_joins > 0 ? (int64_t) p->join_wave_window_s * 1000 : 0;
    a->joins = p->join_wave_joins;
    a->hold_ms = (int64_t) p->join_wave_hold_s * 1000;
    a->chat = chat;
    a->join = strcmp (kind, "join") == 0;
    const char *args [MODERATION_CHECK_NARGS] = {
        a->buf [0], a->buf [1], a->buf [2], a->buf [3], a->buf [4], a->buf [5], a->buf [6], a->buf [7], a->buf [18],
        ev->msg_id, a->buf [8], kind, a->buf [9], a->buf [10], a->buf [11], a->buf [12], a->buf [13],
        a->buf [14], a->buf [15], a->buf [16], a->buf [17], a->buf [19] };
    memcpy (a->args, args, sizeof (args));
}

void moderation_seen_key (char *buf, size_t len, int64_t brand_id, int64_t event_time_us)
{
    char b [24], day [24], tag [40];
    qy_fmt_i64 (b, brand_id);
    qy_fmt_i64 (day, qy_day_of (event_time_us, 0));
    qy_cat (tag, sizeof (tag), "md:ids:{b:", b, "}:");
    qy_cat (buf, len, tag, day, "");
}

//  One SMISMEMBER per distinct set (argument key of the events), asking
//  for each event's argument member; notes each event's command and place.
static void s_plan_sets (moderation_reads_t *rd, const moderation_check_args_t *const *args, int key, int member,
                         size_t *cmd_of, size_t *at_of)
{
    size_t ne = rd->ne;
    const char **tags = qy_calloc (ne + 1, sizeof (*tags));
    size_t *order = qy_calloc (ne + 1, sizeof (size_t)), *start = qy_calloc (ne + 2, sizeof (size_t));
    for (size_t j = 0; j < ne; j++)
        tags [j] = args [j]->args [key];
    size_t ng = qy_group_by_key (tags, ne, order, start);
    for (size_t g = 0; g < ng; g++) {
        size_t c = rd->ncmds++, first = start [g], len = start [g + 1] - first;
        const char **a = rd->argv [c] = qy_calloc (len + 2, sizeof (char *));
        a [0] = "SMISMEMBER";
        a [1] = tags [order [first]];
        for (size_t k = 0; k < len; k++) {
            size_t j = order [first + k];
            a [2 + k] = args [j]->args [member];
            cmd_of [j] = c;
            at_of [j] = k;
        }
        rd->argc [c] = (int) (len + 2);
    }
    free (tags);
    free (order);
    free (start);
}

void moderation_reads_plan (moderation_reads_t *rd, const moderation_check_args_t *const *args, size_t ne)
{
    memset (rd, 0, sizeof (*rd));
    rd->ne = ne;
    size_t max = 1 + 2 * ne;
    rd->argc = qy_calloc (max, sizeof (int));
    rd->argv = qy_calloc (max, sizeof (char **));
    rd->replies = qy_calloc (max, sizeof (redisReply *));
    rd->block_cmd = qy_calloc (ne + 1, sizeof (size_t));
    rd->block_at = qy_calloc (ne + 1, sizeof (size_t));
    rd->seen_cmd = qy_calloc (ne + 1, sizeof (size_t));
    rd->seen_at = qy_calloc (ne + 1, sizeof (size_t));
    const char **mget = rd->argv [0] = qy_calloc (ne + 1, sizeof (char *));
    mget [0] = "MGET";
    for (size_t j = 0; j < ne; j++)
        mget [1 + j] = args [j]->args [MODERATION_ARG_MUTE];
    rd->argc [0] = (int) (ne + 1);
    rd->ncmds = 1;
    s_plan_sets (rd, args, MODERATION_ARG_BLOCK, MODERATION_ARG_MEMBER, rd->block_cmd, rd->block_at);
    s_plan_sets (rd, args, MODERATION_ARG_SEEN, MODERATION_ARG_MSG_ID, rd->seen_cmd, rd->seen_at);
}

int moderation_cmds_append (qy_redis_t *redis, size_t ncmds, const int *argc, const char ***argv, size_t *appended)
{
    for (*appended = 0; *appended < ncmds; (*appended)++)
        if (qy_redis_append_argv (redis, argc [*appended], argv [*appended], NULL) != 0)
            return -1;
    return 0;
}

int moderation_cmds_get (qy_redis_t *redis, size_t ncmds, size_t appended, redisReply **replies)
{
    int rc = appended == ncmds ? 0 : -1;
    for (size_t c = 0; c < appended; c++)
        if (!(replies [c] = qy_redis_get_reply (redis)))
            rc = -1;
    return rc;
}

int moderation_reads_append (qy_redis_t *redis, moderation_reads_t *rd)
{
    return moderation_cmds_append (redis, rd->ncmds, rd->argc, rd->argv, &rd->appended);
}

int moderation_reads_get (qy_redis_t *redis, moderation_reads_t *rd)
{
    return moderation_cmds_get (redis, rd->ncmds, rd->appended, rd->replies);
}

//  Whether r is SMISMEMBER's answer with an integer at place at.
static bool s_member_reply (const redisReply *r, size_t at)
{
    return r && r->type == REDIS_REPLY_ARRAY && at < r->elements && r->element [at]->type == REDIS_REPLY_INTEGER;
}

int moderation_reads_take (const moderation_reads_t *rd, size_t j, int64_t *mute_end_us, bool *blocked, bool *seen)
{
    if (j >= rd->ne || rd->ncmds == 0)
        return -1;
    const redisReply *m = rd->replies [0], *b = rd->replies [rd->block_cmd [j]], *s = rd->replies [rd->seen_cmd [j]];
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements != rd->ne || !s_member_reply (b, rd->block_at [j])
        || !s_member_reply (s, rd->seen_at [j]))
        return -1;
    const redisReply *e = m->element [j];
    *mute_end_us = e->type == REDIS_REPLY_STRING ? strtoll (e->str, NULL, 10) : 0;
    *blocked = b->element [rd->block_at [j]]->integer == 1;
    *seen = s->element [rd->seen_at [j]]->integer == 1;
    return 0;
}

const char *moderation_reads_error (const moderation_reads_t *rd)
{
    for (size_t c = 0; c < rd->ncmds; c++)
        if (rd->replies [c] && rd->replies [c]->type == REDIS_REPLY_ERROR)
            return rd->replies [c]->str;
    return NULL;
}

void moderation_reads_free (moderation_reads_t *rd)
{
    for (size_t c = 0; c < rd->ncmds; c++) {
        free (rd->argv [c]);
        if (rd->replies [c])
            freeReplyObject (rd->replies [c]);
    }
    free (rd->argc);
    free (rd->argv);
    free (rd->replies);
    free (rd->block_cmd);
    free (rd->block_at);
    free (rd->seen_cmd);
    free (rd->seen_at);
    memset (rd, 0, sizeof (*rd));
}

static void s_hit (judge_result_t *r, const char *rule, qy_category_t cat, double weight, bool dry_run)
{
    if (r->nhits == JUDGE_MAX_HITS) {
        r->hits_dropped++;
        return;
    }
    judge_hit_t *h = &r->hits [r->nhits++];
    memset (h, 0, sizeof (*h));
    h->rule = rule;
    h->category = cat;
    h->weight = weight;
    h->dry_run = dry_run;
}

//  Many members saying the same thing is ordinary in a brand with many
//  groups ("上次的优惠券过期了怎么办"): the coordinated-accounts test needs
//  the content itself to carry a signal (any counted hit, even one too
//  weak for review alone).
static bool s_coordinated (const moderation_policy_t *p, const moderation_counts_t *c, const judge_result_t *r)
{
    bool signal = false;
    for (size_t i = 0; i < r->nhits; i++)       //  a complaint's words are no promotion
        signal |= !r->hits [i].dry_run && r->hits [i].weight > 0 && r->hits [i].category != QY_CAT_COMPLAINT;
    return p->wave_members > 0 && c->wave_members >= p->wave_members && signal;
}

bool moderation_wave (const moderation_policy_t *p, const moderation_counts_t *c, const judge_result_t *r,
                      bool contact, bool newcomer)
{
    if (s_coordinated (p, c, r))
        return true;
    if (p->wave_groups <= 0 || c->wave_groups < p->wave_groups)
        return false;
    //  One member's text in the groups they belong to is a customer
    //  repeating a remark, unless something says promotion: a contact
    //  detail, an ad-like score worth a review, a member new to the group,
    //  or groups of many stores within minutes.
    double promo = r->score [QY_CAT_AD] + r->score [QY_CAT_FRAUD] + r->score [QY_CAT_GAMBLING] + r->score [QY_CAT_PORN];
    return contact || promo >= p->thresholds.review || newcomer
        || (p->wave_stores > 0 && c->wave_stores >= p->wave_stores);
}

void moderation_behaviour_hits (const moderation_policy_t *p, const moderation_counts_t *c,
                                int64_t event_time_us, int tz_offset_min, judge_result_t *r)
{
    if (p->flood_rule [0] && c->flood > p->flood_max)
        s_hit (r, p->flood_rule, QY_CAT_FLOOD, p->flood_weight, p->flood_dry_run);
    if (p->repeat_max > 0 && c->repeat > p->repeat_max)
        s_hit (r, "behaviour.repeat", QY_CAT_FLOOD, p->repeat_weight, false);
    //  A newcomer's link or contact detail: stricter while a join wave lasts.
    int hours = c->join_wave && p->join_wave_joins > 0 ? p->join_wave_hours : p->newcomer_hours;
    double weight = c->join_wave && p->join_wave_joins > 0 ? p->join_wave_weight : p->newcomer_weight;
    int64_t age_ms = event_time_us / 1000 - c->joined_ms;
    bool newcomer = hours > 0 && c->joined_ms > 0 && age_ms < (int64_t) hours * 3600 * 1000;
    const judge_hit_t *contact = NULL;
    for (size_t i = 0; i < r->nhits && !contact; i++)
        if (r->hits [i].contact && !r->hits [i].dry_run)
            contact = &r->hits [i];
    //  The same violating text from several accounts new to the groups:
    //  one sender's accounts, punished more heavily than one account.
    bool multi = newcomer && s_coordinated (p, c, r);
    if (moderation_wave (p, c, r, contact != NULL, newcomer))
        s_hit (r, "behaviour.spam_wave", QY_CAT_SPAM_WAVE, p->wave_weight, false);
    if (multi)
        s_hit (r, "behaviour.multi_account", QY_CAT_SPAM_WAVE, p->wave_weight, false);
    if (newcomer && contact) {
        //  The contact detail already counts; the newcomer rule raises the
        //  total to at least its weight (1.0: recall; 2.0 in a wave: mute).
        double top_up = weight - r->total;
        if (top_up > 0)
            s_hit (r, c->join_wave ? "behaviour.newcomer_wave" : "behaviour.newcomer", contact->category, top_up, false);
    }
    if (p->quiet_from != p->quiet_to) {
        int64_t local_s = event_time_us / 1000000 + (int64_t) tz_offset_min * 60;
        int minute = (int) (((local_s / 60) % 1440 + 1440) % 1440);
        bool quiet = p->quiet_from < p->quiet_to ? minute >= p->quiet_from && minute < p->quiet_to
                                                 : minute >= p->quiet_from || minute < p->quiet_to;
        if (quiet)
            s_hit (r, "behaviour.quiet_hours", QY_CAT_FORMAT, p->quiet_weight, false);
    }
}

double moderation_score (const moderation_policy_t *p, judge_result_t *r)
{
    size_t w = 0, dry = 0;
    memset (r->score, 0, sizeof (r->score));
    r->total = 0;
    for (size_t i = 0; i < r->nhits; i++) {
        judge_hit_t h = r->hits [i];
        for (size_t k = 0; k < p->noverrides; k++) {
            const moderation_override_t *o = &p->overrides [k];
            if (strcmp (o->name, h.rule))
                continue;
            if (!isnan (o->weight))
                h.weight = o->weight;
            if (o->dry_run >= 0)
                h.dry_run = o->dry_run;
            if (o->enabled == 0)
                h.rule = NULL;
        }
        if (!h.rule)
            continue;
        dry += h.dry_run != 0;
        r->hits [w++] = h;
    }
    r->nhits = w;
    r->hits_dropped = 0;        //  what is not listed is not counted here
    judge_result_settle (r);
    if (dry == 0)
        return r->total;
    //  What the total would be with the dry-run rules live, cancellation
    //  and all, settled as the real one is.
    judge_result_t live = *r;
    for (size_t i = 0; i < live.nhits; i++)
        live.hits [i].dry_run = 0;
    judge_result_settle (&live);
    return live.total;
}

double moderation_group_score (const moderation_policy_t *p, const moderation_counts_t *c,
                               int64_t event_time_us, int tz_offset_min, judge_result_t *r)
{
    moderation_score (p, r);
    moderation_behaviour_hits (p, c, event_time_us, tz_offset_min, r);
    return moderation_score (p, r);     //  overrides are settings, so a second pass changes no content hit
}

bool moderation_nickname_bad (const moderation_policy_t *p, const char *nickname)
{
    return p->nickname [0] && judge_nickname_ok (p->nickname, nickname ? nickname : "") == 0;
}

bool moderation_content_hash (const char *norm, size_t len, int min_chars, uint64_t *hash)
{
    int chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char) norm [i] & 0xC0) != 0x80;
    if (!norm || chars < min_chars)
        return false;
    *hash = qy_hash64 (norm, len);
    return true;
}
