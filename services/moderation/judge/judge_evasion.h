/*  =========================================================================
    judge_evasion.h - rewrite a message with the tricks spammers use to get
    past keyword filters: traditional characters, full-width and fancy
    letters, look-alikes, circled / full-width / Chinese digits, zero-width
    characters, symbols, spaces and emoji between characters, repeats.

    Used by `qy-judge eval --evade SEED` and the tests to measure how much
    the judge loses when ads are disguised. Deterministic for a given seed.
    =========================================================================
*/
#ifndef QY_JUDGE_EVASION_H_INCLUDED
#define QY_JUDGE_EVASION_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _judge_evader_t judge_evader_t;

//  s2t_config: OpenCC simplified -> traditional config; NULL means
//  /usr/share/opencc/s2t.json, "" disables that trick. NULL + err on error.
judge_evader_t *judge_evader_new (uint64_t seed, const char *s2t_config,
                                  char *err, size_t errlen);
void judge_evader_destroy (judge_evader_t **self_p);

//  Rewrite text. Returns a NUL-terminated string owned by the evader,
//  valid until the next call; *len_p (if not NULL) gets its length.
const char *judge_evader_rewrite (judge_evader_t *self, const char *text, size_t len,
                                  size_t *len_p);

#endif
