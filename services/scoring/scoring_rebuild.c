//  Redis lost entirely (a new, empty instance): the current days' counters
//  and their dedupe marks are counted again from ingest's archive, through
//  the same entry point live events take (scoring_count_batch), so a mark
//  and the counters it guards come back together, and a live event counted
//  meanwhile (by this replica between pages, or by another) is answered
//  "seen" by its mark and not counted twice. Which events are done is kept
//  by the marker key: its absence says Redis lost what scoring wrote.
#include "scoring.h"
#include "qy/archive.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  How long a rebuilder's claim lasts without a page counted: another
//  replica takes over (and starts again: counting twice is harmless) once
//  it ran out.
#define S_LOCK_MS 30000
#define S_CHECK_US 2000000
#define S_RETRY_US 1000000

struct scoring_rebuild_t {
    scoring_rebuild_config_t cfg;
    qy_redis_t *redis;
    qy_pg_t *pg;
    scoring_brands_t *brands;
    bool running;
    bool elsewhere;         //  the marker gone, another replica rebuilding
    int64_t next_check;
    char owner [64];
    //  The rebuild under way: the brands, the one being read, its cursor.
    int64_t *brand_ids;
    size_t nbrands, at;
    char after_time [64], *after_id;
    int64_t counted, seen, read, t0;
    Qy__Event *evs;
    Qy__Event **pevs;
    qy_archive_hold_t *holds;
    Qy__Verdict *verdicts;
    Qy__Standing *st;
    scoring_outcome_t *out;
};

static qy_metric_t *m_events, *m_runs, *m_running;

int64_t scoring_rebuild_from_s (int64_t now_us, int tz_offset_min, int days)
{
    int32_t today = qy_day_of (now_us, tz_offset_min);
    return ((int64_t) today - (days > 1 ? days : 1) + 1) * 86400 - (int64_t) tz_offset_min * 60;
}

void scoring_rebuild_verdict (Qy__Verdict *v, int64_t violation_id, const char *action)
{
    qy__verdict__init (v);
    v->violation_id = violation_id;
    const ProtobufCEnumValue *a = protobuf_c_enum_descriptor_get_value_by_name (&qy__action__descriptor, action);
    v->action = a ? (Qy__Action) a->value : QY__ACTION__ALLOW;
}

scoring_rebuild_t *scoring_rebuild_new (const scoring_rebuild_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg,
                                        scoring_brands_t *brands)
{
    scoring_rebuild_t *self = qy_calloc (1, sizeof (*self));
    self->cfg = *cfg;
    self->redis = redis;
    self->pg = pg;
    self->brands = brands;
    qy_process_owner (self->owner, sizeof (self->owner));
    size_t n = cfg->page > 0 ? (size_t) cfg->page : 1;
    self->evs = qy_calloc (n, sizeof (Qy__Event));
    self->pevs = qy_calloc (n, sizeof (Qy__Event *));
    self->holds = qy_calloc (n, sizeof (qy_archive_hold_t));
    self->verdicts = qy_calloc (n, sizeof (Qy__Verdict));
    self->st = qy_calloc (n, sizeof (Qy__Standing));
    self->out = qy_calloc (n, sizeof (scoring_outcome_t));
    m_events = qy_counter ("qy_scoring_rebuild_events_total",
                           "archived events counted again after Redis lost the day counters (seen ones included)");
    m_runs = qy_counter ("qy_scoring_rebuilds_total", "rebuilds of the current days' counters finished");
    m_running = qy_gauge ("qy_scoring_rebuilding", "1 while this replica rebuilds the day counters from the archive");
    return self;
}

static void s_stop (scoring_rebuild_t *self)
{
    self->running = false;
    free (self->brand_ids);
    self->brand_ids = NULL;
    free (self->after_id);
    self->after_id = NULL;
    qy_metric_set (m_running, 0);
}

void scoring_rebuild_destroy (scoring_rebuild_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scoring_rebuild_t *self = *self_p;
    s_stop (self);
    free (self->evs);
    free (self->pevs);
    free (self->holds);
    free (self->verdicts);
    free (self->st);
    free (self->out);
    free (self);
    *self_p = NULL;
}

//  The integer answer of a command, or -1 when Redis is away or says otherwise.
static long long s_int (redisReply *r)
{
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject (r);
    return v;
}

//  Begin: the marker is gone and this replica holds the claim. The brands
//  are read now; one created later has nothing archived before the loss.
static void s_begin (scoring_rebuild_t *self)
{
    PGresult *res;
    if (!qy_pg_run (self->pg, "rebuild brands", "SELECT id FROM brands ORDER BY id", 0, NULL, &res))
        return;         //  tried again at the next check
    self->nbrands = (size_t) PQntuples (res);
    self->brand_ids = qy_calloc (self->nbrands + 1, sizeof (int64_t));
    for (size_t i = 0; i < self->nbrands; i++)
        self->brand_ids [i] = qy_pg_int (res, (int) i, 0);
    PQclear (res);
    self->at = 0;
    qy_strlcpy (self->after_time, "-infinity", sizeof (self->after_time));
    self->after_id = qy_strdup ("");
    self->counted = self->seen = self->read = 0;
    self->t0 = qy_mono_us ();
    self->next_check = 0;
    self->running = true;
    qy_metric_set (m_running, 1);
    qy_log_warn ("redis has lost scoring's counters (no %s): counting the last %d days of %zu brands again "
                 "from the archive", SCORING_RESTORED_KEY, self->cfg.days, self->nbrands);
}

//  Idle: every S_CHECK_US, whether the marker is there; if not, claim the
//  rebuild (one replica at a time: the others go on counting live events).
static void s_check (scoring_rebuild_t *self)
{
    if (qy_mono_us () < self->next_check)
        return;
    self->next_check = qy_mono_us () + S_CHECK_US;
    self->elsewhere = false;
    if (s_int (qy_redis_cmd (self->redis, "EXISTS %s", SCORING_RESTORED_KEY)) != 0)
        return;         //  there, or Redis away (the batch path reports that)
    char px [16];
    qy_snprintf (px, sizeof (px), "%d", S_LOCK_MS);
    redisReply *r = qy_redis_cmd (self->redis, "SET %s %s NX PX %s", SCORING_REBUILD_LOCK_KEY, self->owner, px);
    bool mine = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject (r);
    if (mine)
        s_begin (self);
    else
        self->elsewhere = true;
}

//  The event of an archived row, with the verdict moderation recorded for
//  it (a violation with a strike or a warning counts as one, as when the
//  event came from moderation). Column 26 on: QY_REBUILD_COLUMNS.
static void s_event (scoring_rebuild_t *self, PGresult *res, int r)
{
    Qy__Event *ev = &self->evs [r];
    qy_archive_event (res, r, ev, &self->holds [r]);
    self->pevs [r] = ev;
    self->out [r] = SCORING_PENDING;
    if (PQgetisnull (res, r, 27))
        return;
    scoring_rebuild_verdict (&self->verdicts [r], qy_pg_int (res, r, 27), PQgetvalue (res, r, 28));
    ev->verdict = &self->verdicts [r];
}

//  Enforcement under a mute or block (strike 0, no violation id in the
//  live verdict) is no violation to count.
#define S_REBUILD_SQL \
    QY_ARCHIVE_COLUMNS ", m.event_time::text, v.id, upper (v.action) " QY_ARCHIVE_FROM \
    "LEFT JOIN violations v ON v.brand_id = m.brand_id AND v.msg_id = m.msg_id " \
    "  AND v.category NOT IN ('mute', 'blocked') " \
    "WHERE m.brand_id = $1 AND m.event_time >= to_timestamp ($2) " \
    "  AND (m.event_time, m.msg_id) > ($3::timestamptz, $4) ORDER BY m.event_time, m.msg_id LIMIT $5"

//  Count one page of events through the live entry point. False when Redis
//  went away (the same page is read again next time: counting is idempotent).
static bool s_count (scoring_rebuild_t *self, size_t n)
{
    int rc = scoring_count_batch (self->cfg.count, self->redis, self->brands, self->pevs, self->st, self->out, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        self->counted += self->out [i] == SCORING_COUNTED;
        self->seen += self->out [i] == SCORING_SEEN;
        if (self->out [i] == SCORING_REJECTED)
            //  The live path set it aside when it met it; nothing more here.
            qy_log_warn ("msg_id=%s brand=%s not counted again: counting rejected it (a key of the wrong type)",
                         self->pevs [i]->msg_id, self->pevs [i]->brand);
    }
    if (rc)
        qy_redis_disconnect (self->redis);
    return rc == 0;
}

//  Read and count the next page of the current brand; move to the next
//  brand when it is the last. False when PostgreSQL or Redis failed.
static bool s_page (scoring_rebuild_t *self)
{
    const scoring_brand_t *b = scoring_brands_get (self->brands, self->brand_ids [self->at]);
    if (!b)
        return false;
    int64_t from = scoring_rebuild_from_s (qy_now_us (), b->tz_offset_min, self->cfg.days);
    char bid [QY_PG_I64_LEN], sfrom [QY_PG_I64_LEN], limit [QY_PG_I64_LEN];
    const char *p [] = { qy_pg_i64 (bid, b->id), qy_pg_i64 (sfrom, from), self->after_time, self->after_id,
                         qy_pg_i64 (limit, self->cfg.page) };
    PGresult *res;
    if (!qy_pg_run (self->pg, "rebuild page", S_REBUILD_SQL, 5, p, &res))
        return false;
    size_t n = (size_t) PQntuples (res);
    for (size_t i = 0; i < n; i++)
        s_event (self, res, (int) i);
    bool ok = s_count (self, n);
    if (ok && n) {
        qy_strlcpy (self->after_time, PQgetvalue (res, (int) n - 1, 26), sizeof (self->after_time));
        free (self->after_id);
        self->after_id = qy_strdup (PQgetvalue (res, (int) n - 1, 0));
        self->read += (int64_t) n;
        qy_metric_add (m_events, (int64_t) n);
    }
    for (size_t i = 0; i < n; i++)
        qy_archive_release (&self->holds [i]);
    PQclear (res);
    if (ok && n < (size_t) self->cfg.page) {
        qy_log_info ("brand=%s counters rebuilt from the archive read=%lld counted=%lld seen=%lld",
                     b->code, (long long) self->read, (long long) self->counted, (long long) self->seen);
        self->at++;
        qy_strlcpy (self->after_time, "-infinity", sizeof (self->after_time));
        free (self->after_id);
        self->after_id = qy_strdup ("");
    }
    return ok;
}

//  Every brand done: say so in Redis (the marker), unless Redis lost
//  everything again meanwhile (the claim is gone): then start again.
static void s_finish (scoring_rebuild_t *self)
{
    redisReply *r = qy_redis_cmd (self->redis, "GET %s", SCORING_REBUILD_LOCK_KEY);
    bool mine = r && r->type == REDIS_REPLY_STRING && strcmp (r->str, self->owner) == 0;
    if (r)
        freeReplyObject (r);
    if (!mine) {
        qy_log_warn ("scoring's rebuild lost its claim (redis emptied again, or a stall past %d ms): starting again",
                     S_LOCK_MS);
        s_stop (self);
        return;
    }
    r = qy_redis_cmd (self->redis, "SET %s 1", SCORING_RESTORED_KEY);
    bool set = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject (r);
    if (!set)
        return;         //  Redis away: finished again at the next step
    s_int (qy_redis_cmd (self->redis, "DEL %s", SCORING_REBUILD_LOCK_KEY));
    qy_metric_add (m_runs, 1);
    qy_log_info ("scoring's counters rebuilt from the archive brands=%zu events=%lld counted=%lld seen=%lld seconds=%.1f",
                 self->nbrands, (long long) self->read, (long long) self->counted, (long long) self->seen,
                 (double) (qy_mono_us () - self->t0) / 1e6);
    s_stop (self);
}

bool scoring_rebuild_step (scoring_rebuild_t *self)
{
    if (!self->running) {
        s_check (self);
        return self->running || self->elsewhere;
    }
    if (qy_mono_us () < self->next_check)
        return true;    //  PostgreSQL or Redis failed a moment ago
    //  Keep the claim while working; a claim gone (Redis emptied again) starts over.
    char px [16];
    qy_snprintf (px, sizeof (px), "%d", S_LOCK_MS);
    if (s_int (qy_redis_cmd (self->redis, "PEXPIRE %s %s", SCORING_REBUILD_LOCK_KEY, px)) == 0) {
        qy_log_warn ("scoring's rebuild claim is gone (redis emptied again?): starting again");
        s_stop (self);
        self->next_check = 0;
        return false;
    }
    if (self->at < self->nbrands) {
        if (!s_page (self))
            self->next_check = qy_mono_us () + S_RETRY_US;
        return true;
    }
    s_finish (self);
    return self->running;
}

bool scoring_rebuild_running (const scoring_rebuild_t *self)
{
    return self->running;
}
