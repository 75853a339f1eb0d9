//  ingest_lookup: which keys of a batch (groups, channels, members) ingest's
//  id caches do not hold, each once, so that one statement resolves them all
//  however many groups the batch spans; and the caches' bound.
#ifndef INGEST_LOOKUP_H
#define INGEST_LOOKUP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qy/util.h"

//  Of keys[0..n) (NULL: nothing to look up), the ones cache does not hold,
//  each once: first[] gets the index of the first key of each, in order.
//  first holds n entries. Borrows everything. Returns how many.
size_t ingest_lookup_missing (qy_map_t *cache, const char *const *keys, size_t n, size_t *first);
//  Make room in cache for incoming entries about to be put: the whole cache
//  is dropped when it would pass max, so memory stays bounded whatever the
//  number of groups or members (a dropped entry costs one look-up again).
//  Called before a batch's answers are put, never between them, so that
//  none of them is dropped before the batch has read it. Returns true when
//  the cache was dropped.
bool ingest_lookup_room (qy_map_t *cache, size_t max, size_t incoming);
//  Number keys[0..n) into rounds so that no round holds a key twice and a
//  key's occurrences keep their order: round[i] is how many times keys[i]
//  came before i (NULL keys: round 0). Returns the number of rounds (0 for
//  no keys). One multi-row ON CONFLICT DO UPDATE per round then applies a
//  batch's changes to a row in the order they came.
size_t ingest_lookup_rounds (const char *const *keys, size_t n, size_t *round);
#endif
