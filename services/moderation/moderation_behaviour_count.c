//  Behaviour windows counted in C: what each event of a batch counts in a
//  window's sorted set, from what one read of the set returned. Pure:
//  moderation_behaviour.c does the Redis commands, these functions only
//  count, and the unit tests call them without Redis.
//
//  Why counting from one read is the same as counting one event at a time
//  (what the Lua script did with a ZCOUNT per event), and why a redelivered
//  batch counts as its first delivery did:
//  - A window of message ids (flood, repeat, join wave) is read after the
//    batch's ZADD. The batch's own ids are taken out of what was read and
//    added back one event at a time in batch order, so event i counts the
//    batch's events 0..i and never a later one, whether or not Redis had
//    them already (a redelivery). The script's per-event trim (scores at or
//    below t - keep × w) is applied in memory in the same order, so a batch
//    out of time order counts as the script would; in Redis the batch trims
//    only below what its own events count, so a redelivery finds it again.
//  - Every other id read (earlier batches, or another replica's batch that
//    reached Redis first) counts by its time alone, as the script's ZCOUNT
//    counted what was in the set. Ids are written with ZADD only, which is
//    idempotent and commutes, so two replicas writing one key in any
//    interleaving leave the same set; what one replica does not see yet it
//    would not have seen had its script run first. No MULTI is needed.
//  - The wave set (group:member:store by last time, updated with ZADD GT) is
//    read before the batch's ZADD, so the scores are those before the batch;
//    the batch's updates, trims and the 2,000 cap are then replayed in batch
//    order. The set keeps one time per entry, so a redelivered batch sees
//    its own later messages' times: its wave counts can differ where an
//    entry older than a window was brought back into it by the batch. The
//    joined key likewise holds the last join only (a member who speaks,
//    leaves and joins again in one batch). A redelivery of a message that
//    was finished repeats its recorded decision and never uses its counts;
//    these two matter only for a batch cut off before it was finished.
#include "moderation.h"
#include "moderation_behaviour.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  How many of the sorted scores s[0..n) are at most x.
static size_t s_upto (const int64_t *s, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s [mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  The first of ev [from..k) with id, or k. A window key has few events
//  in a batch (one member's messages in one group), so a scan is cheaper
//  than a map.
static size_t s_find (const moderation_mark_t *ev, size_t from, size_t k, const char *id)
{
    while (from < k && strcmp (ev [from].id, id) != 0)
        from++;
    return from;
}

void moderation_window_counts (const moderation_entry_t *read, size_t nread, const moderation_mark_t *ev, size_t k,
                               int keep, long *counts)
{
    //  next [j]: the next event of the batch with event j's id (k: none);
    //  an id given twice is one message, re-added by its later event.
    size_t *next = qy_calloc (k + 1, sizeof (size_t));
    for (size_t j = 0; j < k; j++)
        next [j] = s_find (ev, j + 1, k, ev [j].id);
    //  What was read minus the batch's own ids, in score order as read.
    int64_t *base = qy_calloc (nread + 1, sizeof (int64_t));
    size_t nbase = 0;
    for (size_t e = 0; e < nread; e++)
        if (s_find (ev, 0, k, read [e].member) == k)
            base [nbase++] = read [e].score;
    int64_t trim = INT64_MIN;       //  what came before the batch: trimmed by every event so far
    for (size_t i = 0; i < k; i++) {
        int64_t t = ev [i].t, lo = t - ev [i].w;
        if (t - ev [i].w * keep > trim)
            trim = t - ev [i].w * keep;
        int64_t from = lo > trim ? lo : trim;
        long c = from < t ? (long) (s_upto (base, nbase, t) - s_upto (base, nbase, from)) : 0;
        //  The batch's event j (its id's last time so far) was added at j
        //  and trimmed by the events j..i after it.
        int64_t cut = INT64_MIN;
        for (size_t j = i + 1; j-- > 0; ) {
            if (ev [j].t - ev [j].w * keep > cut)
                cut = ev [j].t - ev [j].w * keep;
            c += next [j] > i && ev [j].t > lo && ev [j].t > cut && ev [j].t <= t;
        }
        counts [i] = c;
    }
    free (base);
    free (next);
}

//  One wave entry: "G:M:S" (the script's '^(%d+):(%d+):(.+)$'), parsed.
typedef struct {
    const char *str;
    int64_t     score;
    bool        alive;
    bool        ok;         //  of the expected shape (else never counted)
    long long   member;
    const char *store;
} s_wave_t;

static void s_wave_parse (s_wave_t *w)
{
    const char *p = w->str, *g = p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == g || *p != ':')
        return;
    const char *m = ++p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == m || *p != ':' || !p [1] || p - m > 18)
        return;
    w->member = strtoll (m, NULL, 10);
    w->store = p + 1;
    w->ok = true;
}

static int s_by_long (const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return (x > y) - (x < y);
}

//  ZREMRANGEBYRANK 0 -2001: the lowest by score, then by member, go first.
static int s_by_rank (const void *a, const void *b)
{
    const s_wave_t *x = *(s_wave_t *const *) a, *y = *(s_wave_t *const *) b;
    if (x->score != y->score)
        return (x->score > y->score) - (x->score < y->score);
    return strcmp (x->str, y->str);
}

static void s_wave_cap (s_wave_t *set, size_t n)
{
    size_t alive = 0;
    for (size_t e = 0; e < n; e++)
        alive += set [e].alive;
    if (alive <= MODERATION_WAVE_CAP)
        return;
    s_wave_t **rank = qy_calloc (alive, sizeof (s_wave_t *));
    size_t r = 0;
    for (size_t e = 0; e < n; e++)
        if (set [e].alive)
            rank [r++] = &set [e];
    qsort (rank, alive, sizeof (s_wave_t *), s_by_rank);
    for (size_t e = 0; e < alive - MODERATION_WAVE_CAP; e++)
        rank [e]->alive = false;
    free (rank);
}

//  The script's loop over ZRANGEBYSCORE (t - w, t + w]: distinct members,
//  and this member's groups and distinct stores.
static void s_wave_count (const s_wave_t *set, size_t n, const s_wave_t *me, int64_t t, int64_t w,
                          long long *scratch, moderation_counts_t *c)
{
    size_t nm = 0;
    c->wave_groups = c->wave_stores = 0;
    for (size_t e = 0; e < n; e++) {
        const s_wave_t *x = &set [e];
        if (!x->alive || !x->ok || x->score <= t - w || x->score > t + w)
            continue;
        scratch [nm++] = x->member;
        if (!me->ok || x->member != me->member)
            continue;
        c->wave_groups++;
        bool seen = false;
        for (size_t f = 0; f < e && !seen; f++)
            seen = set [f].alive && set [f].ok && set [f].member == me->member && set [f].score > t - w
                && set [f].score <= t + w && strcmp (set [f].store, x->store) == 0;
        c->wave_stores += !seen;
    }
    qsort (scratch, nm, sizeof (long long), s_by_long);
    c->wave_members = 0;
    for (size_t e = 0; e < nm; e++)
        c->wave_members += e == 0 || scratch [e] != scratch [e - 1];
}

void moderation_wave_counts (const moderation_entry_t *read, size_t nread, const moderation_mark_t *ev, size_t k,
                             moderation_counts_t *counts)
{
    s_wave_t *set = qy_calloc (nread + k + 1, sizeof (s_wave_t));
    long long *scratch = qy_calloc (nread + k + 1, sizeof (long long));
    size_t n = 0;
    for (size_t e = 0; e < nread; e++, n++) {
        set [n] = (s_wave_t) { .str = read [e].member, .score = read [e].score, .alive = true };
        s_wave_parse (&set [n]);
    }
    for (size_t i = 0; i < k; i++) {
        int64_t t = ev [i].t, w = ev [i].w;
        size_t at = 0;
        while (at < n && strcmp (set [at].str, ev [i].id) != 0)
            at++;
        if (at == n) {
            set [n++] = (s_wave_t) { .str = ev [i].id, .score = t, .alive = true };
            s_wave_parse (&set [at]);
        }
        else
        if (!set [at].alive || set [at].score < t) {
            set [at].score = t;
            set [at].alive = true;
        }
        for (size_t e = 0; e < n; e++)
            if (set [e].score <= t - 2 * w)
                set [e].alive = false;
        s_wave_cap (set, n);
        s_wave_count (set, n, &set [at], t, w, scratch, &counts [i]);
    }
    free (scratch);
    free (set);
}
