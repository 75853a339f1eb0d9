//  ingest_lookup: the distinct keys a batch misses in a cache, and the
//  cache's bound (ingest_lookup.h).
#include "ingest_lookup.h"

size_t ingest_lookup_missing (qy_map_t *cache, const char *const *keys, size_t n, size_t *first)
{
    //  A key twice in the batch is looked up once: the statement that
    //  resolves them may not touch a row twice (ON CONFLICT DO UPDATE).
    qy_map_t *pending = qy_map_new ();
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keys [i] || qy_map_get (cache, keys [i], NULL) || qy_map_get (pending, keys [i], NULL))
            continue;
        qy_map_put (pending, keys [i], 1);
        first [missing++] = i;
    }
    qy_map_destroy (&pending);
    return missing;
}

bool ingest_lookup_room (qy_map_t *cache, size_t max, size_t incoming)
{
    if (qy_map_size (cache) + incoming <= max)
        return false;
    qy_map_clear (cache);
    return true;
}

size_t ingest_lookup_rounds (const char *const *keys, size_t n, size_t *round)
{
    qy_map_t *seen = qy_map_new ();
    size_t rounds = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t before = 0;
        if (keys [i]) {
            qy_map_get (seen, keys [i], &before);
            qy_map_put (seen, keys [i], before + 1);
        }
        round [i] = (size_t) before;
        if (round [i] + 1 > rounds)
            rounds = round [i] + 1;
    }
    qy_map_destroy (&seen);
    return rounds;
}
