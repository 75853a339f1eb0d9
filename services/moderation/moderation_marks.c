//  Finished: moderation remembers each message it finished, so a
//  redelivery repeats the outcome instead of judging again in a state that
//  has moved on (one SADD per brand and day, with its EXPIRE). The marks
//  ride with the next batch's Redis round trip, ahead of its reads, or go
//  on their own when no event waits (moderation_batch_flush): a round trip
//  per batch less. If they are lost (a crash before either), a redelivery
//  falls back to the recorded violations, as when the SADD failed.
#include "moderation_marks.h"
#include "moderation_behaviour.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static void s_word (moderation_marks_t *m, const char *w)
{
    if (m->nwords == m->capw) {
        m->capw = m->capw ? m->capw * 2 : 64;
        m->words = qy_realloc (m->words, m->capw * sizeof (char *));
    }
    m->words [m->nwords++] = qy_strdup (w);
}

static void s_end (moderation_marks_t *m, int argc)
{
    if (m->ncmds == m->capc) {
        m->capc = m->capc ? m->capc * 2 : 8;
        m->argc = qy_realloc (m->argc, m->capc * sizeof (int));
    }
    m->argc [m->ncmds++] = argc;
}

void moderation_marks_add (moderation_marks_t *m, Qy__Event *const *evs, size_t n)
{
    char (*keys) [96] = qy_calloc (n ? n : 1, sizeof (*keys));
    char ttl [16];
    qy_snprintf (ttl, sizeof (ttl), "%d", MODERATION_SEEN_TTL_S);
    for (size_t i = 0; i < n; i++)
        moderation_seen_key (keys [i], sizeof (keys [i]), evs [i]->brand_id, evs [i]->event_time_us);
    for (size_t i = 0; i < n; i++) {
        if (!keys [i][0])
            continue;      //  already in an earlier SADD
        int argc = 2;
        s_word (m, "SADD");
        s_word (m, keys [i]);
        for (size_t j = i; j < n; j++)
            if (j == i || (keys [j][0] && strcmp (keys [j], keys [i]) == 0)) {
                s_word (m, evs [j]->msg_id);
                argc++;
                if (j > i)
                    keys [j][0] = 0;
            }
        s_end (m, argc);
        s_word (m, "EXPIRE");
        s_word (m, keys [i]);
        s_word (m, ttl);
        s_end (m, 3);
    }
    free (keys);
}

int moderation_marks_append (qy_redis_t *redis, const moderation_marks_t *m)
{
    size_t at = 0;
    int queued = 0;
    for (size_t c = 0; c < m->ncmds; at += (size_t) m->argc [c++]) {
        if (qy_redis_append_argv (redis, m->argc [c], (const char **) &m->words [at], NULL))
            break;
        queued++;
    }
    return queued;
}

static void s_forget (moderation_marks_t *m)
{
    for (size_t w = 0; w < m->nwords; w++)
        free (m->words [w]);
    m->nwords = m->ncmds = 0;
}

void moderation_marks_done (qy_redis_t *redis, moderation_marks_t *m, int queued)
{
    for (int i = 0; i < queued; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r)
            break;
        freeReplyObject (r);
    }
    s_forget (m);
}

void moderation_marks_free (moderation_marks_t *m)
{
    s_forget (m);
    free (m->words);
    free (m->argc);
    memset (m, 0, sizeof (*m));
}
