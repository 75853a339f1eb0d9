//  An operator's decision on a violation (confirm or overturn) and the
//  learning it teaches the brand's classifier: the one implementation that
//  `qyctl moderation confirm|overturn` and the console's review queue both
//  run. It works on the caller's connection inside the caller's
//  transaction (the console's carries the user's row-level scope), and
//  leaves BEGIN and COMMIT to the caller.
#ifndef MODERATION_DECIDE_H
#define MODERATION_DECIDE_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include "judge.h"
#include "moderation.h"

typedef enum {
    MODERATION_DECIDED = 0,
    MODERATION_NOT_FOUND = 1,        //  no such violation in the brand (or out of the caller's scope)
    MODERATION_ALREADY = 2,          //  already has the status asked for
    MODERATION_DECIDE_ERROR = -1     //  SQL or model error, message in err
} moderation_decide_rc_t;

typedef struct {
    char      previous [16];         //  status before: open, confirmed, overturned
    char      action [16];           //  what the violation did (review, warn, mute …)
    int       strike;                //  the strike number it counted as (0 = none)
    bool      lifted_mute;           //  overturn: no mute of the member runs any more
    bool      lifted_block;          //  overturn: the block it caused was lifted
    int       charged;               //  confirm of a reported private poaching: the strike it now counts as (0: none)
    char      model [8];             //  the category taught ("" when nothing was learned)
    long long model_version;         //  moderation_models id written
    long long examples;              //  decisions that model has learned
} moderation_decision_t;

//  A decision asked for: violation id of brand bid (decimal strings),
//  confirmed or overturned by actor with reason; learn: teach the model.
typedef struct {
    const char *bid;
    const char *id;
    bool        overturn;
    const char *actor;
    const char *reason;
    bool        learn;
} moderation_decide_in_t;

//  Decide: set the violation's status, lift the block it caused
//  (overturn), notify the service to resync the member, audit it, and when
//  learn, teach the brand's model of its category with the archived text
//  (label 1 confirm, 0 overturn).
moderation_decide_rc_t moderation_decide (PGconn *conn, const moderation_decide_in_t *in, moderation_decision_t *out,
                                          char *err, size_t errlen);

//  The brand's rule rows as the service loads them: its enabled rules (or
//  the proposed rows instead, when given), flood rules left out (behaviour,
//  counted live; with pol they set its flood limits), its lists merged in.
//  NULL with err on an SQL error. Caller frees with moderation_rows_free.
judge_rule_row_t *moderation_brand_rows (PGconn *conn, const char *bid, const judge_rule_row_t *proposed,
                                         size_t nproposed, moderation_policy_t *pol, size_t *n_out,
                                         char *err, size_t errlen);

//  The brand's newest learned model of category cat written to a private
//  temporary file (path; the caller unlinks it), and how many decisions it
//  learned. path is left empty when the brand has none. -1 with err on error.
int moderation_brand_model (PGconn *conn, const char *bid, const char *cat, char *path, size_t len,
                            long long *examples, char *err, size_t errlen);
#endif
